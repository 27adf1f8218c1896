-- mqtt-authd schema 3: who failed to log in, and who is locked out.

-- Recent failed logins (kept for MQTT_AUTHD_FAILURE_RETENTION_DAYS). Written in batches, off the
-- broker's request path. Never holds a password, not even a wrong one.
CREATE TABLE login_failures (
  id        INTEGER NOT NULL PRIMARY KEY,
  at        TEXT    NOT NULL,
  username  TEXT    NOT NULL,
  peerhost  TEXT    NOT NULL,
  clientid  TEXT    NOT NULL,
  -- bad_password, unknown_user, disabled, expired, client_id_mismatch, locked_out, password_too_long
  reason    TEXT    NOT NULL
) STRICT;

CREATE INDEX login_failures_by_at ON login_failures (at);
CREATE INDEX login_failures_by_username ON login_failures (username, at);

-- Lockouts after repeated failures: until `locked_until`, attempts for the key are denied without
-- running a hash. scope 'username+peerhost' locks one source for one user (low threshold);
-- 'username' locks a user from everywhere but its last successful source (high threshold);
-- 'peerhost' locks one source for every user (highest threshold: NAT puts fleets behind one address).
CREATE TABLE login_lockouts (
  scope         TEXT    NOT NULL CHECK (scope IN ('username+peerhost', 'username', 'peerhost')),
  username      TEXT    NOT NULL,  -- '' for scope 'peerhost'
  peerhost      TEXT    NOT NULL,  -- '' for scope 'username'
  failures      INTEGER NOT NULL,
  lock_count    INTEGER NOT NULL,  -- how many times this key was locked: the backoff doubles each time
  locked_at     TEXT    NOT NULL,
  locked_until  TEXT    NOT NULL,
  PRIMARY KEY (scope, username, peerhost)
) STRICT;

CREATE INDEX login_lockouts_by_peerhost ON login_lockouts (peerhost);

CREATE VIEW active_lockouts AS
SELECT scope, username, peerhost, failures, lock_count, locked_at, locked_until
FROM login_lockouts
WHERE locked_until > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
ORDER BY locked_until DESC;

CREATE VIEW recent_login_failures AS
SELECT at, username, peerhost, clientid, reason
FROM login_failures
ORDER BY at DESC
LIMIT 1000;
