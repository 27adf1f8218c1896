export { type EmqxImportOptions, type EmqxUserRecord, parseEmqxUsers } from "./emqx-users.js";
export { type GoAuthParseOptions, parseGoAuth } from "./go-auth.js";
export type { CredentialRecord, LineError, ParsedCredentials } from "./lines.js";
export {
  type MosquittoAccess,
  type MosquittoAclEntry,
  type ParsedMosquittoAcl,
  parseMosquittoAcl,
} from "./mosquitto-acl.js";
export { type MosquittoRules, mosquittoAclToRules } from "./mosquitto-acl-rules.js";
export { parseMosquittoPasswd } from "./mosquitto-passwd.js";
