import { z } from "zod";

/**
 * The provisioning API's request shapes: validated once at the edge, shared by the HTTP API and the
 * CLI so neither re-implements a rule the other enforces.
 */

// Printable text only: a control character in a username or client id is a mistake or an attack.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to reject control characters
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

export const usernameSchema = z
  .string()
  .min(1, "must not be empty")
  .max(256, "must be at most 256 characters")
  .refine((s) => !CONTROL_CHARS.test(s), "must not contain control characters")
  .refine((s) => s.trim() === s, "must not start or end with white space");

export const clientIdSchema = z
  .string()
  .min(1, "must not be empty")
  .max(256, "must be at most 256 characters")
  .refine((s) => !CONTROL_CHARS.test(s), "must not contain control characters");

const expiresAtSchema = z.iso
  .datetime({ offset: true, message: "must be an ISO 8601 date-time, e.g. 2027-01-31T00:00:00Z" })
  .transform((s) => new Date(s).toISOString());

const descriptionSchema = z.string().max(1000, "must be at most 1000 characters");

export const createClientSchema = z.strictObject({
  username: usernameSchema,
  /** Omit to have the server generate a strong secret, returned once. */
  password: z.string().optional(),
  client_id: clientIdSchema.nullable().optional(),
  is_superuser: z.boolean().optional(),
  enabled: z.boolean().optional(),
  expires_at: expiresAtSchema.nullable().optional(),
  description: descriptionSchema.optional(),
});
export type CreateClientInput = z.infer<typeof createClientSchema>;

export const patchClientSchema = z
  .strictObject({
    client_id: clientIdSchema.nullable().optional(),
    is_superuser: z.boolean().optional(),
    enabled: z.boolean().optional(),
    expires_at: expiresAtSchema.nullable().optional(),
    description: descriptionSchema.optional(),
  })
  .refine((p) => Object.keys(p).length > 0, "give at least one field to change");
export type PatchClientInput = z.infer<typeof patchClientSchema>;

export const rotatePasswordSchema = z.strictObject({
  /** Omit to have the server generate a strong secret, returned once. */
  password: z.string().optional(),
});

export const listClientsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  after: z.string().max(256).optional(),
  state: z.enum(["active", "disabled", "expired"]).optional(),
  is_superuser: z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .optional(),
  prefix: z.string().min(1).max(256).optional(),
});
export type ListClientsQuery = z.infer<typeof listClientsQuerySchema>;

export const tokenNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$/, "must be 1-64 letters, digits or . _ : @ -");
export const tokenScopeSchema = z.enum(["read", "admin"]);
