"""The case store: every case's current view and history in PostgreSQL, for departments' web systems to query.

`python -m envgrid.connectors.case_store run` (the sink, `sink.py`) reads case.history, case.feedback and case.sla
and keeps, per case: its current state, lead and assisting departments, grid chain, deadlines (`cases`,
`case_deadlines`, from the `CaseSnapshot` each history entry carries), the full revision history
(`case_revisions`), the feedback sent (`case_feedback`) and the SLA events (`case_sla_events`). Idempotent by
event id and by (case id, revision): `rows.py` maps records to rows (pure), `store.py` writes a batch in one
transaction, the sink commits its offsets after it. `migrate.py` applies the numbered SQL files of
`migrations/`; `roles.py` gives each department a role that reads only its own cases (row-level security).
"""
