-- mqtt-authd schema 2 (PostgreSQL): topic authorization.
-- A client's rules are evaluated first, then its roles in the order assigned, then the default roles
-- (which apply to every client) by name; the first matching rule decides, else MQTT_AUTHD_ACL_NO_MATCH.

CREATE TABLE acl_roles (
  name         text COLLATE "C" NOT NULL PRIMARY KEY,
  description  text        NOT NULL DEFAULT '',
  -- true: applies to every client, after the roles assigned to it (mosquitto's `pattern` lines).
  is_default   boolean     NOT NULL DEFAULT false,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL
);

-- Each rule belongs either to a role or to one client.
CREATE TABLE acl_rules (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  role_name        text COLLATE "C" REFERENCES acl_roles (name) ON DELETE CASCADE,
  client_username  text COLLATE "C" REFERENCES mqtt_clients (username) ON DELETE CASCADE,
  -- Evaluation order within its role or client, from 1.
  position         integer NOT NULL CHECK (position >= 1),
  permission       text    NOT NULL CHECK (permission IN ('allow', 'deny')),
  action           text    NOT NULL CHECK (action IN ('publish', 'subscribe', 'all')),
  -- MQTT filter with + and #, ${username} / ${clientid} as whole levels, or 'eq <topic>' for exact.
  topic            text    NOT NULL,
  -- Comma-separated QoS levels the rule applies to ('0,1'); NULL: any.
  qos              text CHECK (qos IS NULL OR qos IN ('0', '1', '2', '0,1', '0,2', '1,2', '0,1,2')),
  -- Publish retain flag the rule applies to; NULL: either.
  retain           boolean,
  CHECK ((role_name IS NULL) <> (client_username IS NULL)),
  UNIQUE (role_name, position),
  UNIQUE (client_username, position)
);

CREATE TABLE client_roles (
  client_username  text COLLATE "C" NOT NULL REFERENCES mqtt_clients (username) ON DELETE CASCADE,
  -- A role cannot be deleted while assigned (RESTRICT): unassign it first.
  role_name        text COLLATE "C" NOT NULL REFERENCES acl_roles (name) ON DELETE RESTRICT,
  position         integer NOT NULL CHECK (position >= 1),
  PRIMARY KEY (client_username, role_name),
  UNIQUE (client_username, position)
);

CREATE INDEX client_roles_by_role ON client_roles (role_name);
-- The effective_acl view looks default roles up on every rule read: a small partial index instead
-- of a scan of every role.
CREATE INDEX acl_roles_by_default ON acl_roles (is_default) WHERE is_default;

-- Each client's rules in evaluation order: what /mqtt/acl and the login `acl` list use.
CREATE VIEW effective_acl AS
SELECT c.username,
       row_number() OVER (PARTITION BY c.username ORDER BY s.tier, s.role_order, s.role_name, s.position) AS eval_order,
       s.source, s.permission, s.action, s.topic, s.qos, s.retain
FROM mqtt_clients AS c
JOIN (
  SELECT r.client_username AS username, 0 AS tier, 0 AS role_order, ''::text COLLATE "C" AS role_name,
         'client'::text AS source, r.position, r.permission, r.action, r.topic, r.qos, r.retain
  FROM acl_rules AS r WHERE r.client_username IS NOT NULL
  UNION ALL
  SELECT cr.client_username, 1, cr.position, cr.role_name, 'role:' || cr.role_name,
         r.position, r.permission, r.action, r.topic, r.qos, r.retain
  FROM client_roles AS cr JOIN acl_rules AS r ON r.role_name = cr.role_name
  UNION ALL
  SELECT c2.username, 2, 0, ro.name, 'default-role:' || ro.name,
         r.position, r.permission, r.action, r.topic, r.qos, r.retain
  FROM mqtt_clients AS c2
  JOIN acl_roles AS ro ON ro.is_default
  JOIN acl_rules AS r ON r.role_name = ro.name
  WHERE NOT EXISTS (SELECT 1 FROM client_roles x WHERE x.client_username = c2.username AND x.role_name = ro.name)
) AS s ON s.username = c.username;
