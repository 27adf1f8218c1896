-- mqtt-authd schema 1: MQTT clients, admin tokens, audit log.
-- Tables are STRICT and named for the admin who opens this file with sqlite3.
-- Times are ISO 8601 UTC text ('2026-12-04T15:53:52.123Z'): readable and sortable as they are.

CREATE TABLE mqtt_clients (
  username             TEXT    NOT NULL PRIMARY KEY,
  -- argon2id encoded string, or an imported legacy hash until the client's next login upgrades it.
  password_hash        TEXT    NOT NULL,
  -- 'argon2id', 'bcrypt', 'mosquitto-pbkdf2-sha512', ...: which formats are still in use.
  hash_format          TEXT    NOT NULL,
  -- 'generated' (>= 128 bits from the server, light argon2 profile), 'chosen' (set by a person,
  -- full profile) or 'imported' (brought from another system, full profile once upgraded).
  password_origin      TEXT    NOT NULL CHECK (password_origin IN ('generated', 'chosen', 'imported')),
  -- When set, the client may only connect with exactly this MQTT client id.
  bound_client_id      TEXT,
  is_superuser         INTEGER NOT NULL DEFAULT 0 CHECK (is_superuser IN (0, 1)),
  is_enabled           INTEGER NOT NULL DEFAULT 1 CHECK (is_enabled IN (0, 1)),
  expires_at           TEXT,
  description          TEXT    NOT NULL DEFAULT '',
  created_at           TEXT    NOT NULL,
  updated_at           TEXT    NOT NULL,
  password_changed_at  TEXT    NOT NULL,
  last_login_at        TEXT,
  last_login_peerhost  TEXT
) STRICT;

CREATE INDEX mqtt_clients_by_created_at ON mqtt_clients (created_at);

CREATE TABLE admin_tokens (
  name          TEXT NOT NULL PRIMARY KEY,
  -- Only the SHA-256 (hex) of the token is kept; the token itself is shown once, at creation.
  token_sha256  TEXT NOT NULL UNIQUE,
  scope         TEXT NOT NULL CHECK (scope IN ('read', 'admin')),
  created_at    TEXT NOT NULL,
  last_used_at  TEXT,
  revoked_at    TEXT
) STRICT;

-- Every provisioning change: who (token name or CLI user), what, when. Never a secret.
CREATE TABLE audit_log (
  id       INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  at       TEXT    NOT NULL,
  actor    TEXT    NOT NULL,
  action   TEXT    NOT NULL,
  target   TEXT,
  details  TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(details))
) STRICT;

CREATE INDEX audit_log_by_target ON audit_log (target, at);

CREATE VIEW clients_overview AS
SELECT username,
       CASE
         WHEN is_enabled = 0 THEN 'disabled'
         WHEN expires_at IS NOT NULL AND expires_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now') THEN 'expired'
         ELSE 'active'
       END AS state,
       is_superuser, bound_client_id, expires_at, hash_format, password_origin,
       last_login_at, last_login_peerhost, password_changed_at, created_at, description
FROM mqtt_clients;
