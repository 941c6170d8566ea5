"""KNRM: kernels, training on a small real subset, reproducibility, model-dir errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from irrobust.errors import ModelError
from irrobust.rankers.knrm import MUS, SIGMAS, KNRMConfig, KNRMReranker, KNRMScorer, load_knrm, train_knrm
from irrobust.rankers.training import NegativesConfig

SMALL = KNRMConfig(max_queries=40, epochs=1, negatives=NegativesConfig(n_neg=3, depth=50), seed=1)


@pytest.fixture(scope="module")
def knrm_model(tmp_path_factory, scifact_train):
    return train_knrm(
        scifact_train,
        name="knrm-small",
        config=SMALL,
        progress=False,
        directory=tmp_path_factory.mktemp("knrm") / "knrm-small",
    )


def test_kernels_follow_the_paper():
    assert len(MUS) == 11 and MUS[0] == 1.0 and SIGMAS[0] == 1e-3
    assert np.allclose(MUS[1:], np.arange(0.9, -1.0, -0.2)) and set(SIGMAS[1:]) == {0.1}


def test_knrm_beats_random_on_heldout(knrm_model, scifact_test, heldout_run, random_ndcg):
    from irrobust.evaluate.measures import evaluate_run

    reranked = KNRMReranker(knrm_model)(heldout_run)
    qrels = scifact_test.qrels[scifact_test.qrels["qid"].isin(heldout_run["qid"])]
    assert evaluate_run(reranked, qrels, ["nDCG@10"])["nDCG@10"] > random_ndcg(heldout_run, qrels) + 0.05


def test_knrm_exact_match_matters(knrm_model):
    s = KNRMScorer(knrm_model)
    q = "vitamin d deficiency increases fracture risk"
    scores = s.score(q, [q, "football match results of the weekend league"])
    assert scores[0] > scores[1]


def test_knrm_reproducible(knrm_model, tmp_path, scifact_train):
    again = train_knrm(scifact_train, name="knrm-small", config=SMALL, progress=False, directory=tmp_path / "k")
    a = json.loads((knrm_model / "manifest.json").read_text())
    b = json.loads((again / "manifest.json").read_text())
    assert a["files"]["model.safetensors"] == b["files"]["model.safetensors"]


def test_knrm_model_errors(knrm_model, tmp_path):
    with pytest.raises(ModelError, match="train_knrm"):
        load_knrm("beir/scifact/train", name="no-such-knrm-for-tests")
    bad = tmp_path / "bad"
    shutil.copytree(knrm_model, bad)
    with open(bad / "model.safetensors", "r+b") as fh:
        fh.seek(-8, 2)
        fh.write(b"\x01" * 8)
    with pytest.raises(ModelError, match="checksum"):
        KNRMReranker(bad)
