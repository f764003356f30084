"""Where the package's own files are, and where a run keeps its state: the one place that knows.

Configuration (`config/`), Avro schemas (`schemas/`) and reference data (`data/`) ship inside the
`envgrid` package, so a regular (non-editable) install finds them exactly as a checkout does. Every loader
takes these as defaults only: a city points a loader at its own files by passing a path.

Run state (the local cluster, the worker's table store, logs) goes under `var_dir()`: `$ENVGRID_VAR_DIR`, or
`./var` of the working directory. Only outer layers (commands, the local cluster) call it; the domain reads
no environment.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CONFIG_DIR = PACKAGE_DIR / "config"
SCHEMAS_DIR = PACKAGE_DIR / "schemas"
DATA_DIR = PACKAGE_DIR / "data" / "wenzhou"

DEPARTMENTS_FILE = CONFIG_DIR / "departments.yaml"
REGISTRY_DIR = CONFIG_DIR / "registry"
RULES_DIR = CONFIG_DIR / "rules"
ROSTER_FILE = CONFIG_DIR / "roster" / "wenzhou-roster.csv"
PIPELINE_FILE = CONFIG_DIR / "pipeline.yaml"
SLA_FILE = CONFIG_DIR / "sla.yaml"
TOPICS_FILE = CONFIG_DIR / "topics.yaml"
PRINCIPALS_FILE = CONFIG_DIR / "principals.yaml"
CALENDAR_DIR = CONFIG_DIR / "calendar"

DISTRICTS_CSV = DATA_DIR / "districts.csv"
TOWNSHIPS_CSV = DATA_DIR / "townships.csv"
VILLAGES_CSV = DATA_DIR / "villages.csv"
BOUNDARIES_GEOJSON = DATA_DIR / "boundaries.geojson"
SYNTHETIC_GRIDS_GEOJSON = DATA_DIR / "synthetic_grids.geojson"

VAR_ENV = "ENVGRID_VAR_DIR"


def var_dir() -> Path:
    """Directory for run state: $ENVGRID_VAR_DIR, else ./var (relative to the working directory)."""
    return Path(os.environ.get(VAR_ENV) or Path.cwd() / "var").resolve()
