"""``device`` on every neural stage and trainer: no hard-coded CPU, CUDA without CUDA is a located error (exit 2),
and the device never enters the fingerprint of a model, an index or a CPU checkpoint."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from irrobust.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
NO_CUDA = pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the behaviour without CUDA")

#: where a literal "cpu" may appear: the auto resolution, and the CPU-only precision paths of the scorer
ALLOWED_CPU = {
    "irrobust/util/compute.py": r".*",
    "irrobust/rankers/scoring.py": r'torch\.autocast\("cpu"|def resolve_precision\(|``"cpu"``|``torch\.autocast\("cpu"',
}


def test_no_hard_coded_cpu():
    """``grep -rn '"cpu"' irrobust`` finds only the auto resolution and CPU-specific fast paths."""
    found = []
    for path in sorted((REPO / "irrobust").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if '"cpu"' in line and not re.search(ALLOWED_CPU.get(rel, r"(?!)"), line):
                found.append(f"{rel}:{n}: {line.strip()}")
    assert not found, "hard-coded CPU:\n" + "\n".join(found)


@NO_CUDA
def test_cuda_without_cuda_is_a_located_error_everywhere(tmp_path):
    from irrobust.index.dense import DenseEncoder
    from irrobust.pipeline.config import load_pipeline
    from irrobust.recsys.config import parse_recsys_config

    with pytest.raises(ConfigError, match="no CUDA device"):
        DenseEncoder(device="cuda")
    with pytest.raises(ConfigError, match="recsys.device.*no CUDA device|no CUDA device"):
        parse_recsys_config({"device": "cuda:0"})
    assert parse_recsys_config({"device": "auto"}).device == "auto"
    stages = {"dense": "{ranker: dense, params: {device: cuda}}",
              "knrm": "{ranker: bm25, params: {k: 20}}, {ranker: knrm, params: {device: 'cuda:1'}}",
              "dense_rerank": "{ranker: bm25, params: {k: 20}}, {ranker: dense_rerank, params: {device: cuda}}",
              "ltr": "{ranker: bm25, params: {k: 20}}, {ranker: ltr, params: {device: 'cuda:0'}}"}  # fmt: skip
    for name, stage in stages.items():
        p = tmp_path / f"{name}.yaml"
        p.write_text("name: cuda\ndatasets: [cranfield]\nmeasures: [nDCG@10]\nbaseline: bm25\nsystems:\n"
                     "  - name: bm25\n    stages: [{ranker: bm25, params: {k: 20}}]\n"
                     f"  - name: x\n    stages: [{stage}]\n")  # fmt: skip
        with pytest.raises(ConfigError, match=r"systems\[1\]\.stages\[\d\]\.params\.device.*no CUDA device"):
            load_pipeline(p)
    # the CLI: exit code 2 and the located message, no traceback (one subprocess: each costs a full import)
    done = subprocess.run([sys.executable, "-m", "irrobust.cli", "validate", str(tmp_path / "knrm.yaml")],
                          capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2 and "stages[1].params.device" in done.stderr and "Traceback" not in done.stderr


def test_device_is_not_in_fingerprints_or_cpu_hashes():
    from irrobust.index.dense import DenseEncoder
    from irrobust.recsys import experiment
    from irrobust.recsys.config import RecsysConfig

    assert DenseEncoder(device="cpu").fingerprint() == DenseEncoder(device="auto").fingerprint()
    assert DenseEncoder(device="cpu").builtin  # the bundled MiniLM keeps its dense-minilm index whatever the device
    # the recsys unit hash: the device is dropped from the config dump (added back only for CUDA)
    assert "device" in experiment._NON_RESULT_KEYS
    dump = {k for k in RecsysConfig(device="cpu").model_dump() if k not in experiment._NON_RESULT_KEYS}
    assert "device" not in dump
    # irrobust-trained models: the training spec (the model's identity) has no device
    from irrobust.rankers.cross_encoder import CrossEncoderConfig
    from irrobust.rankers.knrm import KNRMConfig

    assert "device" not in CrossEncoderConfig().training_spec() and "device" not in KNRMConfig().training_spec()


def test_ltr_dense_feature_follows_device(monkeypatch):
    """The LTR stage's MiniLM (its ``dense`` feature) encodes on the stage's device, in training and reranking, and the
    device never enters the LTR model's identity (its configuration digest)."""
    import numpy as np
    import pandas as pd

    import irrobust.index.dense as dense
    from irrobust.pipeline.components_ltr import LTRParams
    from irrobust.rankers.ltr import FeatureExtractor, LTRConfig

    seen = []

    class Index:
        row = {"a": 0}

        def vectors(self, docnos):
            return np.ones((len(docnos), 4), dtype=np.float32)

    def encode(texts, batch_size=32, device="auto"):
        seen.append(("encode", device))
        return np.ones((len(texts), 4), dtype=np.float32)

    def dense_index(collection, progress=True, encoder=None, **kwargs):
        seen.append(("index", encoder.device))
        return Index()

    monkeypatch.setattr(dense, "encode", encode)
    monkeypatch.setattr(dense, "dense_index", dense_index)
    fx = FeatureExtractor(None, "beir/scifact", ("dense",), device="cpu")
    table = pd.DataFrame({"qid": ["1"], "query": ["vitamin d"], "docno": ["a"]})
    assert fx._dense_scores(table).tolist() == [4.0]
    assert seen == [("encode", "cpu"), ("index", "cpu")]
    assert LTRParams(device="cpu").device == "cpu" and LTRParams().device == "auto"
    assert "device" not in LTRConfig(dataset="beir/scifact/train").as_dict()
