#!/usr/bin/env bash
# Sets up everything a fresh machine needs to run envgrid: the Python environment (.venv) with the
# project and its dependencies, and the Kafka / Apicurio jars (fetched from Maven Central into
# $ENVGRID_CACHE_DIR, default ~/.cache/envgrid). Safe to run again: each step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "envgrid setup: '$1' not found. $2" >&2; exit 1; }; }
need python3 "Install Python 3.11 or newer."
python3 - <<'PY' || { echo "envgrid setup: Python 3.11 or newer is needed (found $(python3 --version 2>&1))." >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

stamp=".venv/.envgrid-installed"
digest="$(sha256sum pyproject.toml | cut -c1-16)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$digest" ]]; then
  echo "envgrid setup: installing the Python environment in .venv (pip install -e .[dev]) ..."
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  # setuptools warns at length about editable installs; keep everything else (errors included) visible
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]" 2>&1 \
    | { grep -v -E 'BuildBackendWarning|^ *!!|\*{20}|Please be careful with folders|name as your package|WheelFile\(|^ *$' || true; }
  echo "$digest" > "$stamp"
fi

# Debian packages: Java for the broker, Maven to fetch its jars, Prometheus (package prometheus: the server
# for `make demo ARGS=--prometheus`, promtool for the alert-rule tests), Chromium for the dashboard test
# (headless) and a CJK font for its screenshots of the evaluation reports, systemd-analyze for the single-host units' test, PostgreSQL for the case store (the local cluster
# runs its own server from initdb; the package's own cluster on 5432 is not used). Installed when missing (as root, or with
# sudo); otherwise `need` says what to run.
missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
{ command -v promtool && command -v prometheus; } >/dev/null 2>&1 || missing+=(prometheus)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# a CJK font, so that the evaluation reports' Chinese names render in Chromium's screenshot (no tofu)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-zenhei)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
# PostgreSQL for the case store (Debian keeps initdb and postgres in /usr/lib/postgresql/<major>/bin, off PATH)
pg_initdb() { command -v initdb || ls /usr/lib/postgresql/*/bin/initdb; } 2>/dev/null
pg_initdb >/dev/null || missing+=(postgresql)
if ((${#missing[@]})) && command -v apt-get >/dev/null 2>&1; then
  sudo=""; [[ "$(id -u)" -ne 0 ]] && command -v sudo >/dev/null 2>&1 && sudo="sudo"
  echo "envgrid setup: installing Debian packages ${missing[*]} ..."
  $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null || echo "envgrid setup: apt-get could not install ${missing[*]}" >&2
fi
need java "Install a Java 17+ runtime: apt-get install -y openjdk-17-jre-headless"
need mvn "Install Maven: apt-get install -y maven"
need promtool "Install Prometheus and promtool: apt-get install -y prometheus"
need prometheus "Install Prometheus and promtool: apt-get install -y prometheus"
need chromium "Install Chromium (the dashboard test loads the dashboard in it, headless): apt-get install -y chromium"
need systemd-analyze "Install systemd: apt-get install -y systemd"
pg_initdb >/dev/null || { echo "envgrid setup: PostgreSQL's initdb not found. Install PostgreSQL (the case store): apt-get install -y postgresql" >&2; exit 1; }
.venv/bin/python -m envgrid.localcluster fetch

# The offline check of deploy/k8s (tests/unit/test_deploy_validate.py): kubeconform built from its Go module
# and the Kubernetes, Strimzi and KEDA schemas, made once into the same cache. Go 1.26+ (kubeconform's
# go.mod asks for it) is found on PATH or in /usr/local/go; Debian's golang-go is older.
PATH="$PATH:/usr/local/go/bin" need go "Install Go 1.26 or newer (https://go.dev/doc/install), or put it on PATH."
.venv/bin/python -m envgrid.deploy.validate --fetch-only >/dev/null
