-- mqtt-authd schema 3 (PostgreSQL): who failed to log in, and who is locked out.

-- Recent failed logins (kept for MQTT_AUTHD_FAILURE_RETENTION_DAYS). Written in batches, off the
-- broker's request path. Never holds a password, not even a wrong one.
-- (PostgreSQL text cannot hold NUL: a NUL a broker sends in a name is stored as U+FFFD here.)
CREATE TABLE login_failures (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at        timestamptz NOT NULL,
  username  text        NOT NULL,
  peerhost  text        NOT NULL,
  clientid  text        NOT NULL,
  -- bad_password, unknown_user, disabled, expired, client_id_mismatch, locked_out, password_too_long
  reason    text        NOT NULL
);

CREATE INDEX login_failures_by_at ON login_failures (at);
CREATE INDEX login_failures_by_username ON login_failures (username, at);

-- Lockouts after repeated failures: until `locked_until`, attempts for the key are denied without
-- running a hash. scope 'username+peerhost' locks one source for one user (low threshold);
-- 'username' locks a user from everywhere but its last successful source (high threshold);
-- 'peerhost' locks one source for every user (highest threshold: NAT puts fleets behind one address).
-- Every replica sharing this database honours the lockouts any of them wrote.
CREATE TABLE login_lockouts (
  scope         text        NOT NULL CHECK (scope IN ('username+peerhost', 'username', 'peerhost')),
  username      text        NOT NULL,  -- '' for scope 'peerhost'
  peerhost      text        NOT NULL,  -- '' for scope 'username'
  failures      integer     NOT NULL,
  lock_count    integer     NOT NULL,  -- how many times this key was locked: the backoff doubles each time
  locked_at     timestamptz NOT NULL,
  locked_until  timestamptz NOT NULL,
  PRIMARY KEY (scope, username, peerhost)
);

CREATE INDEX login_lockouts_by_peerhost ON login_lockouts (peerhost);

CREATE VIEW active_lockouts AS
SELECT scope, username, peerhost, failures, lock_count, locked_at, locked_until
FROM login_lockouts
WHERE locked_until > now()
ORDER BY locked_until DESC;

CREATE VIEW recent_login_failures AS
SELECT at, username, peerhost, clientid, reason
FROM login_failures
ORDER BY at DESC
LIMIT 1000;
