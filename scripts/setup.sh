#!/usr/bin/env bash
# Set up irrobust on a fresh machine (idempotent; fast when everything is in place):
#   1. a Python 3.11 virtual environment in .venv,
#   2. the pinned dependencies (torch's CPU wheel first, then requirements.txt), irrobust in editable mode,
#   3. WordNet 3.0 for the synonym shift (Debian packages when run as root),
#   4. the staged public collections seeded into ir_datasets' cache, and ranx's measures compiled.
# Environment: PYTHON (default python3.11), IRROBUST_SEED_DIR (default ../shared/data beside the checkout).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
VENV="$ROOT/.venv"

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "setup: creating $VENV"
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.irrobust-requirements.sha256"
want="$(cat requirements.txt requirements-ray.txt setup.cfg | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "setup: installing torch (CPU) first, then the pinned requirements"
  "$VENV/bin/pip" install --disable-pip-version-check -q torch==2.13.0
  "$VENV/bin/pip" install --disable-pip-version-check -q -r requirements.txt
  # after requirements.txt: RecBole declares ray<=2.6.3, see the note in requirements.txt
  "$VENV/bin/pip" install --disable-pip-version-check -q -r requirements-ray.txt
  "$VENV/bin/pip" install --disable-pip-version-check -q --no-deps -e .
  echo "$want" > "$stamp"
else
  echo "setup: dependencies already installed"
fi

PYTHON="$VENV/bin/python" bash scripts/setup_wordnet.sh
if ! command -v chromium >/dev/null; then  # headless browser for the HTML report test
  if [[ "$(id -u)" -eq 0 ]]; then
    echo "setup: installing Debian's chromium (headless HTML report check)"
    (apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
      || { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; }) \
      || echo "setup: could not install chromium; the browser test will be skipped"
  else
    echo "setup: chromium not installed (needs root: apt-get install chromium); the browser test will be skipped"
  fi
fi
"$VENV/bin/irrobust" prepare
"$VENV/bin/python" scripts/make_external_models.py  # external CrossEncoder / SentenceTransformer dirs (pipelines/byo_scifact.yaml)
echo "setup: done"
