"""Batch import of historical hotline records (12345 / 12369 exports in CSV, JSONL or XLSX) into the complaint
intake topic, with deterministic event ids, a rejected-rows report and a checkpoint to resume from (issue 11).

    python -m envgrid.connectors.importer FILE --mapping src/envgrid/config/import/wenzhou-12345.yaml

Modules, top-down: `mapping` (the YAML column mapping), `readers` (rows of each format), `convert` (a row to a
checked PetitionComplaint, or a rejection; pure), `checkpoint` (the acknowledged prefix, saved atomically),
`rate` (token bucket), `rejected` (the report), `run` (the loop around the producer), `__main__` (the command).
"""
