"""Evaluation of units on the plan's terms (评价, 考核): indicators per department and grid, per period.

Pure core (`periods`, `ledger`, `indicators`) with no Kafka; `stream` exports the same figures as Prometheus
gauges, `report` writes HTML and CSV, `sources` reads history from the broker or a JSONL export.
"""
