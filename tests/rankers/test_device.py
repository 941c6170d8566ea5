"""``device: auto | cpu | cuda[:n]``: resolution, and CUDA on a CUDA-less machine is a located exit-2 error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from irrobust.errors import ConfigError
from irrobust.util.compute import resolve_device

REPO = Path(__file__).resolve().parents[2]


def test_resolution_on_this_machine():
    import torch

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda:0" if torch.cuda.is_available() else "cpu")
    for bad in ("gpu", "cuda:x", "", "cuda:-1"):
        with pytest.raises(ConfigError, match="unknown device"):
            resolve_device(bad)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the behaviour without CUDA")
def test_cuda_without_cuda_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no CUDA device"):
        resolve_device("cuda:0", where="x.device")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(
        "name: cuda\ndatasets: [cranfield]\nmeasures: [nDCG@10]\nbaseline: bm25\nsystems:\n"
        "  - name: bm25\n    stages: [{ranker: bm25, params: {k: 20}}]\n"
        "  - name: ce\n    stages: [{ranker: bm25, params: {k: 20}}, {ranker: cross_encoder, params: {device: cuda}}]\n"
    )
    done = subprocess.run([sys.executable, "-m", "irrobust.cli", "validate", str(pipeline)], capture_output=True,
                          text=True, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "systems[1].stages[1].params.device" in done.stderr and "no CUDA device" in done.stderr
    assert "Traceback" not in done.stderr


def test_scorer_on_cpu_is_exact_fp32():
    """precision auto on the CPU is the exact fp32 path (CPU results unchanged by the device work)."""
    from irrobust.rankers.scoring import resolve_precision

    assert resolve_precision("auto", "cpu") == "fp32"
    assert resolve_precision("auto", "cuda:0") == "autocast"
    assert resolve_precision("bf16-autocast", "cuda:0") == "autocast"
    with pytest.raises(Exception, match="CPU only"):
        resolve_precision("int8", "cuda:0")
