"""Audit replay with tamper evidence (issue 12): what happened to a case and why, from what the pipeline
published, with each case's history checked against its hash chain (`envgrid.connectors.history_chain`).

- `run`: the API (`audit(consumer, decode, topics, selection, ..., ends=LogEnds(...))` -> `Report`)
- `reader`: reading a topic between two record times (offsets_for_times), filtering keys before decoding
- `timeline`: one case's rows and chain verification, pure
- `redecide`: routing the original reports again, pure
- `render`: table, JSON, CSV
"""
