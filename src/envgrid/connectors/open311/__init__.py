"""Open311 GeoReport v2 intake (issue 11): citizens' and partners' apps submit complaints over HTTP.

`python -m envgrid.connectors.open311 serve` runs it (FastAPI + uvicorn). Modules, edge to centre:
- `app`: the HTTP layer (routes, formats, errors, metrics); knows nothing of Kafka or PostgreSQL;
- `sink`: produces a PetitionComplaint to the complaint intake topic and waits for the broker's acknowledgement;
- `status`: a request's state from the case store (PostgreSQL);
- `complaint`: the request form -> PetitionComplaint record and its deterministic event id (pure);
- `services`: the service list and definitions from config/rules/categories.yaml (pure);
- `keys`: API keys per channel or partner, kept as SHA-256 digests;
- `formats`: Open311's JSON and XML bodies, and its error arrays; `models`: the OpenAPI document's shapes;
- `metrics`: requests by endpoint and status, produce latency; `gateway`: the wiring `__main__` serves.
"""
