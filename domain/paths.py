"""Default locations of the routing configuration and reference data inside the repository.

Everything the routing domain loads comes from these paths unless a caller passes its own, so that a
city can point the loaders at its own files without touching code.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "config"
DATA_DIR = REPO_ROOT / "data" / "wenzhou"

DEPARTMENTS_FILE = CONFIG_DIR / "departments.yaml"
REGISTRY_DIR = CONFIG_DIR / "registry"
RULES_DIR = CONFIG_DIR / "rules"
ROSTER_FILE = CONFIG_DIR / "roster" / "wenzhou-roster.csv"

DISTRICTS_CSV = DATA_DIR / "districts.csv"
TOWNSHIPS_CSV = DATA_DIR / "townships.csv"
VILLAGES_CSV = DATA_DIR / "villages.csv"
BOUNDARIES_GEOJSON = DATA_DIR / "boundaries.geojson"
SYNTHETIC_GRIDS_GEOJSON = DATA_DIR / "synthetic_grids.geojson"
