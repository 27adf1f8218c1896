export { type Argon2Params, type Argon2Variant, argon2Params, isArgon2id } from "./argon2.js";
export { canExportToMosquitto, describeFormat, type FormatDescription, needsRehash } from "./describe.js";
export { detectFormat, type HashFormat } from "./detect.js";
export {
  type EmqxAlgorithm,
  type EmqxHashInput,
  type EmqxMacFun,
  type EmqxSaltPosition,
  encodeEmqxHash,
  isStorableEmqxAlgorithm,
} from "./emqx.js";
export { type GoAuthSaltEncoding, normalizeGoAuthPbkdf2 } from "./go-auth.js";
export type { Inspection } from "./inspection.js";
export { inspectMosquittoHash } from "./mosquitto.js";
export { verifyWithFormat } from "./verify.js";
