import { defineConfig } from "vitest/config";

/**
 * Two projects over one suite: everything on SQLite, and the files that exercise the store through
 * the service (HTTP, services, security, the README's admin queries) again on PostgreSQL — same tests, other store
 * (MQTT_AUTHD_TEST_STORE, read by test/helpers/context.ts).
 */
const onBothStores = [
  "test/http/**/*.test.ts",
  "test/services/**/*.test.ts",
  "test/security/**/*.test.ts",
  "test/docs/readme-sql.test.ts",
];

export default defineConfig({
  test: {
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    reporters: ["default", "./test/summary-reporter.ts"],
    projects: [
      { extends: true, test: { name: "sqlite", include: ["test/**/*.test.ts"] } },
      {
        extends: true,
        test: { name: "postgres", include: onBothStores, env: { MQTT_AUTHD_TEST_STORE: "postgres" } },
      },
    ],
  },
});
