-- mqtt-authd schema 5: a counter that every ACL change bumps.
-- Each process keeps clients' effective rules in memory and re-reads them only when this number
-- changed: one integer read per broker call instead of the effective_acl query, and still correct
-- when several processes (or the CLI) change rules in the same database.

CREATE TABLE acl_generation (
  id          INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  generation  INTEGER NOT NULL
) STRICT;

INSERT INTO acl_generation (id, generation) VALUES (1, 0);

CREATE TRIGGER acl_rules_insert_bumps AFTER INSERT ON acl_rules
BEGIN UPDATE acl_generation SET generation = generation + 1; END;
CREATE TRIGGER acl_rules_update_bumps AFTER UPDATE ON acl_rules
BEGIN UPDATE acl_generation SET generation = generation + 1; END;
CREATE TRIGGER acl_rules_delete_bumps AFTER DELETE ON acl_rules
BEGIN UPDATE acl_generation SET generation = generation + 1; END;
CREATE TRIGGER client_roles_insert_bumps AFTER INSERT ON client_roles
BEGIN UPDATE acl_generation SET generation = generation + 1; END;
CREATE TRIGGER client_roles_update_bumps AFTER UPDATE ON client_roles
BEGIN UPDATE acl_generation SET generation = generation + 1; END;
CREATE TRIGGER client_roles_delete_bumps AFTER DELETE ON client_roles
BEGIN UPDATE acl_generation SET generation = generation + 1; END;
CREATE TRIGGER acl_roles_insert_bumps AFTER INSERT ON acl_roles
BEGIN UPDATE acl_generation SET generation = generation + 1; END;
CREATE TRIGGER acl_roles_update_bumps AFTER UPDATE ON acl_roles
BEGIN UPDATE acl_generation SET generation = generation + 1; END;
CREATE TRIGGER acl_roles_delete_bumps AFTER DELETE ON acl_roles
BEGIN UPDATE acl_generation SET generation = generation + 1; END;
