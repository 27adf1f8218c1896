import { z } from "zod";
import { validateRuleTopic } from "../acl/rule-topic.js";
import type { Rule } from "../acl/types.js";

/** One ACL rule as the provisioning API takes and shows it (close to EMQX's own `acl` format). */
export const ruleSchema = z.strictObject({
  permission: z.enum(["allow", "deny"]),
  action: z.enum(["publish", "subscribe", "all"]),
  topic: z
    .string()
    .min(1, "must not be empty")
    .max(65535)
    .superRefine((topic, ctx) => {
      const check = validateRuleTopic(topic);
      if (!check.ok) ctx.addIssue({ code: "custom", message: check.reason });
    }),
  qos: z
    .array(z.union([z.literal(0), z.literal(1), z.literal(2)]))
    .min(1, "list at least one QoS level, or omit qos for any")
    .max(3)
    .optional(),
  retain: z.boolean().optional(),
});

/** Rules as the core types them (absent, not undefined, optional fields). */
export const rulesSchema = z
  .array(
    ruleSchema.transform(
      ({ qos, retain, ...rule }): Rule => ({
        ...rule,
        ...(qos !== undefined && { qos }),
        ...(retain !== undefined && { retain }),
      }),
    ),
  )
  .max(1000, "at most 1000 rules");

export const roleNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, "must be 1-64 letters, digits or . _ : -");

export const createRoleSchema = z.strictObject({
  name: roleNameSchema,
  description: z.string().max(1000).default(""),
  default: z.boolean().default(false),
  rules: rulesSchema.default([]),
});

export const replaceRoleSchema = createRoleSchema.omit({ name: true });

export const clientAclSchema = z
  .strictObject({
    roles: z
      .array(roleNameSchema)
      .max(100)
      .refine((r) => new Set(r).size === r.length, "a role may be assigned only once")
      .optional(),
    rules: rulesSchema.optional(),
  })
  .refine((a) => a.roles !== undefined || a.rules !== undefined, "give roles, rules or both");

/** Brokers send every value as a string (EMQX: `"qos":"1"`, `"retain":"false"`). */
export const qosStringSchema = z
  .enum(["0", "1", "2"])
  .default("0")
  .transform((v) => Number(v) as 0 | 1 | 2);
export const retainStringSchema = z
  .enum(["true", "false"])
  .default("false")
  .transform((v) => v === "true");

/** The question a broker asks, as the admin's `acl check` asks it too. */
export const aclCheckSchema = z.strictObject({
  clientid: z.string().max(65535).default(""),
  action: z.enum(["publish", "subscribe"]),
  topic: z.string().min(1).max(65535),
  qos: qosStringSchema,
  retain: retainStringSchema,
});
