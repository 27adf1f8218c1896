import { z } from "zod";
import type { ImportRequest } from "../services/import.js";

/**
 * `POST /api/v1/import` and `mqtt-authd import`: one schema for both edges. The file travels as
 * text in `content`; the settings EMQX and go-auth keep outside their files come as fields.
 */

const common = {
  /** The file's text. */
  content: z.string(),
  /** Only for the audit log and the report. */
  file_name: z.string().min(1).max(255).optional(),
  conflict: z.enum(["skip", "overwrite"]).default("skip"),
  dry_run: z.boolean().default(false),
  /** false: apply the good lines of a file that has bad ones. */
  all_or_nothing: z.boolean().default(true),
};

const PBKDF2_FIELDS = ["mac_fun", "iterations", "dk_length"] as const;

const emqxUsers = z
  .strictObject({
    format: z.literal("emqx-users"),
    ...common,
    /** The authenticator's password_hash_algorithm: EMQX does not write it into the export. */
    algorithm: z.enum(["plain", "md5", "sha", "sha256", "sha512", "pbkdf2", "bcrypt"]),
    /** EMQX's default; ignored for pbkdf2 and bcrypt. */
    salt_position: z.enum(["prefix", "suffix", "disable"]).default("prefix"),
    /** Guessed from the content when absent: a JSON array or CSV. */
    file_format: z.enum(["csv", "json"]).optional(),
    mac_fun: z.enum(["sha", "sha224", "sha256", "sha384", "sha512"]).optional(),
    iterations: z.number().int().min(1).max(10_000_000).optional(),
    dk_length: z.number().int().min(1).max(1024).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.algorithm === "pbkdf2") {
      for (const field of ["mac_fun", "iterations"] as const) {
        if (v[field] === undefined) {
          ctx.addIssue({
            code: "custom",
            path: [field],
            message: "needed for algorithm pbkdf2: the authenticator's setting",
          });
        }
      }
      return;
    }
    for (const field of PBKDF2_FIELDS) {
      if (v[field] !== undefined) {
        ctx.addIssue({ code: "custom", path: [field], message: "only applies to algorithm pbkdf2" });
      }
    }
  });

export const importRequestSchema = z
  .discriminatedUnion("format", [
    z.strictObject({ format: z.literal("mosquitto-passwd"), ...common }),
    z.strictObject({ format: z.literal("mosquitto-acl"), ...common }),
    emqxUsers,
    z.strictObject({
      format: z.literal("go-auth"),
      ...common,
      /** go-auth's hasher_salt_encoding. */
      salt_encoding: z.enum(["base64", "utf-8"]).default("base64"),
    }),
  ])
  .transform((body): ImportRequest => {
    const options = {
      conflict: body.conflict,
      dryRun: body.dry_run,
      allOrNothing: body.all_or_nothing,
      ...(body.file_name !== undefined && { fileName: body.file_name }),
    };
    switch (body.format) {
      case "mosquitto-passwd":
      case "mosquitto-acl":
        return { format: body.format, text: body.content, options };
      case "go-auth":
        return { format: body.format, text: body.content, options, saltEncoding: body.salt_encoding };
      case "emqx-users": {
        const { mac_fun, iterations, dk_length } = body;
        const pbkdf2 =
          mac_fun === undefined || iterations === undefined
            ? undefined
            : { macFun: mac_fun, iterations, ...(dk_length !== undefined && { dkLength: dk_length }) };
        return {
          format: body.format,
          text: body.content,
          options,
          emqx: {
            format: body.file_format ?? (body.content.trimStart().startsWith("[") ? "json" : "csv"),
            algorithm: body.algorithm,
            saltPosition: body.salt_position,
            ...(pbkdf2 !== undefined && { pbkdf2 }),
          },
        };
      }
    }
  });

export type ImportRequestBody = z.input<typeof importRequestSchema>;
