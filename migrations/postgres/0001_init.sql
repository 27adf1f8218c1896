-- mqtt-authd schema 1 (PostgreSQL): MQTT clients, admin tokens, audit log.
-- The same plan, table, column and view names as migrations/sqlite/, written for PostgreSQL 15:
-- flags are boolean, times timestamptz, audit details jsonb.
-- Names (usernames, role and token names) use the "C" collation: compared and sorted byte by byte,
-- as SQLite does, so listings and keyset pagination order the same on both databases whatever the
-- database's locale.

CREATE TABLE mqtt_clients (
  username             text COLLATE "C" NOT NULL PRIMARY KEY,
  -- argon2id encoded string, or an imported legacy hash until the client's next login upgrades it.
  password_hash        text        NOT NULL,
  -- 'argon2id', 'bcrypt', 'mosquitto-pbkdf2-sha512', ...: which formats are still in use.
  hash_format          text        NOT NULL,
  -- 'generated' (>= 128 bits from the server, light argon2 profile), 'chosen' (set by a person,
  -- full profile) or 'imported' (brought from another system, full profile once upgraded).
  password_origin      text        NOT NULL CHECK (password_origin IN ('generated', 'chosen', 'imported')),
  -- When set, the client may only connect with exactly this MQTT client id.
  bound_client_id      text,
  is_superuser         boolean     NOT NULL DEFAULT false,
  is_enabled           boolean     NOT NULL DEFAULT true,
  expires_at           timestamptz,
  description          text        NOT NULL DEFAULT '',
  created_at           timestamptz NOT NULL,
  updated_at           timestamptz NOT NULL,
  password_changed_at  timestamptz NOT NULL,
  last_login_at        timestamptz,
  last_login_peerhost  text
);

CREATE INDEX mqtt_clients_by_created_at ON mqtt_clients (created_at);

CREATE TABLE admin_tokens (
  name          text COLLATE "C" NOT NULL PRIMARY KEY,
  -- Only the SHA-256 (hex) of the token is kept; the token itself is shown once, at creation.
  token_sha256  text        NOT NULL UNIQUE,
  scope         text        NOT NULL CHECK (scope IN ('read', 'admin')),
  created_at    timestamptz NOT NULL,
  last_used_at  timestamptz,
  revoked_at    timestamptz
);

-- Every provisioning change: who (token name or CLI user), what, when. Never a secret.
CREATE TABLE audit_log (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at       timestamptz NOT NULL,
  actor    text        NOT NULL,
  action   text        NOT NULL,
  target   text,
  -- Always a JSON object ({} when there is nothing to add).
  details  jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object')
);

CREATE INDEX audit_log_by_target ON audit_log (target, at);

CREATE VIEW clients_overview AS
SELECT username,
       CASE
         WHEN NOT is_enabled THEN 'disabled'
         WHEN expires_at IS NOT NULL AND expires_at <= now() THEN 'expired'
         ELSE 'active'
       END AS state,
       is_superuser, bound_client_id, expires_at, hash_format, password_origin,
       last_login_at, last_login_peerhost, password_changed_at, created_at, description
FROM mqtt_clients;
