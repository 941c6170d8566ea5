"""The GPU check runs end to end on the CPU in smoke mode: export real SciFact pairs, score them both ways."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(900)
def test_export_and_bench_gpu_smoke(tmp_path, seed):
    folder = tmp_path / "gpu_inputs"
    export = subprocess.run([sys.executable, str(REPO / "scripts/bench/export_gpu_inputs.py"), "--out", str(folder),
                             "--queries", "3", "--depth", "8"], capture_output=True, text=True)  # fmt: skip
    assert export.returncode == 0, export.stderr[-3000:]
    meta = json.loads((folder / "export.json").read_text())
    assert meta["pairs"] == 24 and meta["dtype"] == "float16"
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size < 64 * 2**20, f"{size / 2**20:.1f} MiB would not travel to the device machine"

    out = tmp_path / "figures.json"
    bench = subprocess.run([sys.executable, str(REPO / "scripts/bench/bench_gpu.py"), "--inputs", str(folder),
                            "--smoke", "--out", str(out)], capture_output=True, text=True)  # fmt: skip
    assert bench.returncode == 0, bench.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["pairs"] == 16  # smoke mode: the first 2 queries x 8 documents
    # on the CPU the scorer is exact fp32 over fp32 master weights, as CrossEncoder.predict with fp32 weights
    assert figures["precision"] == "fp32"
    assert figures["max_abs_delta"] < 1e-4
    assert figures["identical_top10"] == 1.0
    assert figures["dense_docs_per_s"] > 0 and figures["irrobust_pairs_per_s"] > 0
