#!/usr/bin/env bash
# Install WordNet 3.0 for irrobust's synonym shift and build the NLTK data dir it reads.
#
#   scripts/setup_wordnet.sh            # as root: apt-get installs what is missing, then builds
#
# Idempotent: installs wordnet-base / wordnet-sense-index only when their files are missing, and
# rebuilds <irrobust home>/.cache/nltk_data/corpora/wordnet only when the Debian files changed
# (see irrobust/shifts/wordnet.py). Not root and packages missing: prints what to do, exits 0.
# Environment: PYTHON (default: the checkout's .venv/bin/python, else python3);
#              WORDNET_DIR (default /usr/share/wordnet): where the WordNet dict files are.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WN_DIR="${WORDNET_DIR:-/usr/share/wordnet}"
PYTHON="${PYTHON:-}"
if [[ -z "$PYTHON" ]]; then
  if [[ -x "$ROOT/.venv/bin/python" ]]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi

missing=()
[[ -f "$WN_DIR/data.noun" && -f "$WN_DIR/index.noun" && -f "$WN_DIR/cntlist.rev" ]] || missing+=(wordnet-base)
[[ -f "$WN_DIR/index.sense" ]] || missing+=(wordnet-sense-index)

if ((${#missing[@]})); then
  if [[ "$(id -u)" -ne 0 ]]; then
    cat <<EOF
setup_wordnet: WordNet 3.0 is not installed (missing Debian package(s): ${missing[*]}).
  To enable Synonyms(source="wordnet"), run as root:
      sudo apt-get install -y --no-install-recommends ${missing[*]}
      scripts/setup_wordnet.sh
  (the second step needs no root). Until then, use Synonyms(source="counterfitted").
EOF
    exit 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup_wordnet: no apt-get on this system; install WordNet 3.0 so that $WN_DIR holds its dict files" \
         "(data.*, index.*, *.exc, cntlist.rev, index.sense), then re-run this script."
    exit 0
  fi
  echo "setup_wordnet: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
  fi
fi

cd "$ROOT"
WN_DIR="$WN_DIR" PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" - <<'EOF'
import os

from irrobust.shifts.wordnet import build_nltk_wordnet, load_wordnet

target = build_nltk_wordnet(os.environ["WN_DIR"])
wn = load_wordnet(source=os.environ["WN_DIR"])
n = len(wn.synsets("good"))
if wn.get_version() != "3.0" or n != 27:
    raise SystemExit(f"setup_wordnet: unexpected WordNet at {target}: version {wn.get_version()}, {n} synsets of 'good'")
print(f"setup_wordnet: WordNet {wn.get_version()} ready for NLTK at {target}")
EOF
