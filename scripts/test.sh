#!/usr/bin/env bash
# Run the default test suite (setup first, idempotent). Extra arguments go to pytest, e.g. `-m slow`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
exec "$ROOT/.venv/bin/python" -m pytest "$@"
