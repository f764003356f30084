-- Department principals see only their own cases: row-level security on every case table. A role reads the
-- rows of the units it speaks for: those `unit_roles` maps to a role it is a member of (itself, or a group role
-- it was granted). `python -m envgrid.connectors.case_store roles` creates one group role per department
-- (envgrid_dept_<code>), maps it here and grants it SELECT; a site grants that role to its own login roles.
-- The sink's role owns the tables and is not subject to these policies (no FORCE ROW LEVEL SECURITY).

CREATE TABLE case_store.unit_roles (
  role_name text PRIMARY KEY,
  unit      text NOT NULL
);

CREATE FUNCTION case_store.my_units() RETURNS SETOF text
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, case_store
AS $$
  SELECT u.unit FROM case_store.unit_roles u JOIN pg_catalog.pg_roles r ON r.rolname = u.role_name
  WHERE pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER')
$$;

ALTER TABLE case_store.case_units ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_units ON case_store.case_units FOR SELECT
  USING (unit IN (SELECT case_store.my_units()));

ALTER TABLE case_store.cases ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_cases ON case_store.cases FOR SELECT
  USING (case_id IN (SELECT case_id FROM case_store.case_units WHERE unit IN (SELECT case_store.my_units())));

ALTER TABLE case_store.case_revisions ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_cases ON case_store.case_revisions FOR SELECT
  USING (case_id IN (SELECT case_id FROM case_store.case_units WHERE unit IN (SELECT case_store.my_units())));

ALTER TABLE case_store.case_deadlines ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_cases ON case_store.case_deadlines FOR SELECT
  USING (case_id IN (SELECT case_id FROM case_store.case_units WHERE unit IN (SELECT case_store.my_units())));

ALTER TABLE case_store.case_feedback ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_cases ON case_store.case_feedback FOR SELECT
  USING (case_id IN (SELECT case_id FROM case_store.case_units WHERE unit IN (SELECT case_store.my_units())));

ALTER TABLE case_store.case_sla_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_cases ON case_store.case_sla_events FOR SELECT
  USING (case_id IN (SELECT case_id FROM case_store.case_units WHERE unit IN (SELECT case_store.my_units())));
