-- mqtt-authd schema 4 (PostgreSQL): which password hash formats are still in use.
-- Imported legacy hashes (mosquitto $6$/$7$, bcrypt, PBKDF2, EMQX digests) are rehashed with argon2id
-- at each client's next successful login; until then they show up here.
--   psql "$DATABASE_URL" -c 'SELECT * FROM hash_formats_in_use'

CREATE VIEW hash_formats_in_use AS
SELECT hash_format,
       count(*) AS clients,
       -- Still on this format and never logged in since: devices that have not connected yet.
       count(*) FILTER (WHERE last_login_at IS NULL) AS never_logged_in,
       count(*) FILTER (WHERE password_origin = 'imported') AS imported
FROM mqtt_clients
GROUP BY hash_format
ORDER BY clients DESC, hash_format;
