"""One PostgreSQL role per department, which reads only that department's cases (row-level security,
migrations/0002_department_access.sql).

`ensure_department_roles` creates the group role `envgrid_dept_<code>` (NOLOGIN; hyphens as underscores) for
every department of config/departments.yaml, maps it to its department in `case_store.unit_roles`, and grants it
USAGE on the schema and SELECT on the case tables. Nobody logs in as it: a site grants it to the login role of the
department's web system (`GRANT envgrid_dept_epb TO epb_web`), which then sees epb's cases and no other.
Idempotent; it needs a role that may create roles (CREATEROLE), once per database.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from psycopg import sql

from .migrate import SCHEMA

ROLE_PREFIX = "envgrid_dept_"
#: what a department role may read: every case table (filtered by the policies), and the role map the filter reads
READABLE = ("cases", "case_revisions", "case_deadlines", "case_units", "case_feedback", "case_sla_events",
            "unit_roles")


def role_of(department: str) -> str:
    """`envgrid_dept_<code>`, hyphens as underscores (`envgrid_dept_dev_reform`): a name SQL takes unquoted."""
    return f"{ROLE_PREFIX}{department.replace('-', '_')}"


def ensure_department_roles(conn: Any, departments: Iterable[str]) -> list[str]:
    """Create, map and grant a role for each department (whatever exists already is kept); returns the roles."""
    roles = []
    with conn.transaction():
        for code in departments:
            role = role_of(code)
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(SCHEMA), sql.Identifier(role)))
            for table in READABLE:
                conn.execute(sql.SQL("GRANT SELECT ON {}.{} TO {}").format(
                    sql.Identifier(SCHEMA), sql.Identifier(table), sql.Identifier(role)))
            conn.execute(f"INSERT INTO {SCHEMA}.unit_roles (role_name, unit) VALUES (%s, %s) "
                         f"ON CONFLICT (role_name) DO UPDATE SET unit = EXCLUDED.unit", (role, code))
            roles.append(role)
    return roles
