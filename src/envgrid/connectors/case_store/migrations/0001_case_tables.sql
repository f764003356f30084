-- The case store: every case's current view, its full revision history, its deadlines, the feedback sent and
-- the SLA events, kept from case.history, case.feedback and case.sla by `python -m envgrid.connectors.case_store`.
-- No personal data: a complainant is at most a report id (feedback's recipient); the history's and feedback's
-- free text is the departments' own words, as on the topics.
-- Applied once, in order, by envgrid.connectors.case_store.migrate (schema_version records it).

CREATE TABLE case_store.cases (                -- the case as its latest revision left it
  case_id               text PRIMARY KEY,
  revision              integer NOT NULL,      -- the latest revision applied (only a newer one replaces the row)
  state                 text NOT NULL,
  category              text NOT NULL,
  channel               text NOT NULL,
  grid_chain            text[] NOT NULL,       -- lowest owning grid first, the city grid (L1) last
  handling_level        integer NOT NULL,
  handling_grid         text NOT NULL,
  supervising_grid      text NOT NULL,
  handler_unit          text NOT NULL,
  lead_department       text,
  assisting_departments text[] NOT NULL,
  open_tasks            text[] NOT NULL,
  reports               integer NOT NULL,
  transfers             integer NOT NULL,
  escalations           integer NOT NULL,
  extension_pending     boolean NOT NULL,
  created_at            timestamptz NOT NULL,
  acknowledged_at       timestamptz,
  resolved_at           timestamptz,
  closed_at             timestamptz,
  updated_at            timestamptz NOT NULL   -- event time of the latest revision
);
CREATE INDEX cases_lead ON case_store.cases (lead_department, state);

CREATE TABLE case_store.case_revisions (       -- every case.history entry: the full revision history
  event_id       text PRIMARY KEY,             -- <case>:<revision>:<kind>, the pipeline's idempotency key
  case_id        text NOT NULL,
  revision       integer,                      -- null in entries written before revisions were recorded
  kind           text NOT NULL,
  occurred_at    timestamptz NOT NULL,
  from_state     text,
  to_state       text,
  cause_event_id text NOT NULL,
  actor_unit     text,
  reason         text NOT NULL,
  details        jsonb NOT NULL,
  snapshot       jsonb                         -- the case after this revision (CaseSnapshot), null in old entries
);
CREATE INDEX case_revisions_case ON case_store.case_revisions (case_id, revision);

CREATE TABLE case_store.case_deadlines (       -- each timed milestone as the case's latest revision left it
  case_id      text NOT NULL,
  milestone    text NOT NULL,
  revision     integer NOT NULL,
  clock        text NOT NULL,                  -- running, paused, stopped
  deadline     timestamptz,
  started_at   timestamptz,
  handler_unit text NOT NULL,
  policy_id    text NOT NULL,
  breached     boolean NOT NULL,
  calendar     text NOT NULL,
  PRIMARY KEY (case_id, milestone)
);
CREATE INDEX case_deadlines_due ON case_store.case_deadlines (deadline) WHERE clock = 'running';

CREATE TABLE case_store.case_units (           -- every unit that ever had a part in a case: who may read it
  case_id        text NOT NULL,
  unit           text NOT NULL,                -- a department code (lead or assisting at some revision) or a grid
  first_revision integer NOT NULL,             -- of its chain
  PRIMARY KEY (case_id, unit)
);
CREATE INDEX case_units_unit ON case_store.case_units (unit, case_id);

CREATE TABLE case_store.case_feedback (        -- case.feedback: what was told to whom
  event_id    text PRIMARY KEY,
  case_id     text NOT NULL,
  occurred_at timestamptz NOT NULL,
  stage       text NOT NULL,
  audience    text NOT NULL,
  recipient   text NOT NULL,                   -- a report id for a complainant (never the person), else a unit
  channel     text NOT NULL,
  message     text NOT NULL
);
CREATE INDEX case_feedback_case ON case_store.case_feedback (case_id, occurred_at);

CREATE TABLE case_store.case_sla_events (      -- case.sla: warnings, breaches, withdrawals
  event_id         text PRIMARY KEY,
  case_id          text NOT NULL,
  occurred_at      timestamptz NOT NULL,
  kind             text NOT NULL,
  milestone        text NOT NULL,
  policy_id        text NOT NULL,
  fraction         double precision NOT NULL,
  started_at       timestamptz NOT NULL,
  deadline         timestamptz NOT NULL,
  handler_unit     text NOT NULL,
  supervising_grid text,
  calendar         text NOT NULL,
  calendar_version text
);
CREATE INDEX case_sla_events_case ON case_store.case_sla_events (case_id, occurred_at);

CREATE TABLE case_store.skipped_records (      -- records the sink could not read (undecodable): named, not lost
  topic      text NOT NULL,
  partition  integer NOT NULL,
  "offset"   bigint NOT NULL,
  reason     text NOT NULL,
  PRIMARY KEY (topic, partition, "offset")
);
