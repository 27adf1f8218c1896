-- mqtt-authd schema 5 (PostgreSQL): a counter that every ACL change bumps.
-- Each replica keeps clients' effective rules in memory and re-reads them only when this number
-- changed: one integer read with the client row per broker call instead of the effective_acl
-- query, and still correct when several replicas (or the CLI) change rules in the same database.
--
-- The triggers are per STATEMENT, not per row: an import writing thousands of rules in one
-- statement bumps the counter once. Each sees the rows its statement changed (a transition table)
-- and leaves the counter alone when there were none, as SQLite's row triggers do: a DELETE of a
-- role that does not exist changes nothing. The one row is also a lock: ACL changes commit one at
-- a time.

CREATE TABLE acl_generation (
  id          integer NOT NULL PRIMARY KEY CHECK (id = 1),
  generation  bigint  NOT NULL
);

INSERT INTO acl_generation (id, generation) VALUES (1, 0);

CREATE FUNCTION bump_acl_generation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    UPDATE acl_generation SET generation = generation + 1;
  ELSIF EXISTS (SELECT FROM changed_rows) THEN
    UPDATE acl_generation SET generation = generation + 1;
  END IF;
  RETURN NULL;
END
$$;

-- Transition tables allow one event per trigger: three per table, one function for all.
CREATE TRIGGER acl_rules_insert_bumps AFTER INSERT ON acl_rules
REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_acl_generation();
CREATE TRIGGER acl_rules_update_bumps AFTER UPDATE ON acl_rules
REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_acl_generation();
CREATE TRIGGER acl_rules_delete_bumps AFTER DELETE ON acl_rules
REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_acl_generation();
CREATE TRIGGER acl_rules_truncate_bumps AFTER TRUNCATE ON acl_rules
FOR EACH STATEMENT EXECUTE FUNCTION bump_acl_generation();

CREATE TRIGGER client_roles_insert_bumps AFTER INSERT ON client_roles
REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_acl_generation();
CREATE TRIGGER client_roles_update_bumps AFTER UPDATE ON client_roles
REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_acl_generation();
CREATE TRIGGER client_roles_delete_bumps AFTER DELETE ON client_roles
REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_acl_generation();
CREATE TRIGGER client_roles_truncate_bumps AFTER TRUNCATE ON client_roles
FOR EACH STATEMENT EXECUTE FUNCTION bump_acl_generation();

CREATE TRIGGER acl_roles_insert_bumps AFTER INSERT ON acl_roles
REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_acl_generation();
CREATE TRIGGER acl_roles_update_bumps AFTER UPDATE ON acl_roles
REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_acl_generation();
CREATE TRIGGER acl_roles_delete_bumps AFTER DELETE ON acl_roles
REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_acl_generation();
CREATE TRIGGER acl_roles_truncate_bumps AFTER TRUNCATE ON acl_roles
FOR EACH STATEMENT EXECUTE FUNCTION bump_acl_generation();
