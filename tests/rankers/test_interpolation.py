"""First-stage interpolation of reranker scores: normalisation, the fitted weight, the cross-encoder option."""

from __future__ import annotations

import json

import numpy as np
import pytest

from irrobust.errors import ModelError
from irrobust.evaluate.measures import evaluate_run
from irrobust.rankers.cross_encoder import CrossEncoderConfig, CrossEncoderReranker, train_cross_encoder
from irrobust.rankers.interpolation import ALPHA_GRID, fit_alpha, interpolate, minmax_per_query
from irrobust.rankers.training import NegativesConfig


def test_minmax_is_per_query_and_bounded(heldout_run):
    norm = minmax_per_query(heldout_run["qid"], heldout_run["score"])
    assert norm.min() == 0.0 and norm.max() == 1.0
    per_q = heldout_run.assign(n=norm).groupby("qid")["n"]
    assert (per_q.max() == 1.0).all() and (per_q.min() == 0.0).all()
    # order within a query is BM25's order
    first = heldout_run["qid"] == heldout_run["qid"].iloc[0]
    assert np.array_equal(np.argsort(-norm[first.to_numpy()], kind="stable"),
                          np.argsort(-heldout_run.loc[first, "score"].to_numpy(), kind="stable"))  # fmt: skip


def test_fit_alpha_follows_the_better_signal(heldout_run, scifact_test):
    qrels = scifact_test.qrels[scifact_test.qrels["qid"].isin(heldout_run["qid"])]
    rel = set(zip(qrels["qid"], qrels["docno"], strict=True))
    oracle = np.array([1.0 if (q, d) in rel else 0.0 for q, d in zip(heldout_run["qid"], heldout_run["docno"],
                                                                       strict=True)])  # fmt: skip
    fit = fit_alpha(heldout_run, oracle, scifact_test.qrels)  # qrels of other queries do not dilute the mean
    # from alpha = 0.5 on, the 0/1 oracle dominates any normalised BM25 score: the smallest such weight wins
    assert fit["alpha"] == 0.5 and fit["value"] == pytest.approx(fit["curve"][-1]["nDCG@10"])
    assert fit["value"] > fit["curve"][0]["nDCG@10"]
    noise = np.random.default_rng(0).random(len(heldout_run))
    fit_noise = fit_alpha(heldout_run, noise, qrels)
    assert fit_noise["curve"][0]["nDCG@10"] == pytest.approx(
        evaluate_run(heldout_run, qrels, ["nDCG@10"])["nDCG@10"])  # alpha = 0 is BM25's own ranking  # fmt: skip
    assert fit_noise["alpha"] < 0.5
    assert [r["alpha"] for r in fit["curve"]] == list(ALPHA_GRID) and fit["queries"] == heldout_run["qid"].nunique()


def test_interpolate_rejects_a_weight_outside_0_1():
    with pytest.raises(ValueError, match="alpha"):
        interpolate(["1"], [1.0], [1.0], alpha=1.5)


@pytest.fixture(scope="module")
def dev_model(tmp_path_factory, scifact_train):
    cfg = CrossEncoderConfig(max_queries=12, max_length=64, negatives=NegativesConfig(n_neg=1, depth=20), seed=3,
                             dev_fraction=0.25, dev_depth=10)  # fmt: skip
    return train_cross_encoder(scifact_train, name="ce-dev", config=cfg, progress=False,
                               directory=tmp_path_factory.mktemp("ce") / "ce-dev")  # fmt: skip


def test_held_out_queries_fit_the_weight_and_are_not_trained_on(dev_model):
    m = json.loads((dev_model / "manifest.json").read_text())
    fit = m["interpolation"]
    assert fit["queries"] == 3 and len(fit["dev_qids"]) == 3 and fit["alpha"] in ALPHA_GRID
    assert m["train_queries"] <= 9 and m["config"]["dev_fraction"] == 0.25


def test_reranker_interpolates_with_the_fitted_weight(dev_model, heldout_run, scifact_test):
    alpha = json.loads((dev_model / "manifest.json").read_text())["interpolation"]["alpha"]
    sample = heldout_run[heldout_run["qid"].isin(heldout_run["qid"].unique()[:3])]
    bare = CrossEncoderReranker(dev_model, docs=scifact_test.docs)(sample)
    mixed = CrossEncoderReranker(dev_model, docs=scifact_test.docs, interpolate=True)(sample)
    half = CrossEncoderReranker(dev_model, docs=scifact_test.docs, interpolate=0.5)(sample)
    model = bare.set_index(["qid", "docno"])["score"]
    first = sample.set_index(["qid", "docno"])["score"].reindex(model.index)
    expected = interpolate(model.index.get_level_values(0), first, model, alpha)
    assert mixed.set_index(["qid", "docno"])["score"].reindex(model.index).to_numpy() == pytest.approx(expected)
    assert half.set_index(["qid", "docno"])["score"].reindex(model.index).to_numpy() == pytest.approx(
        interpolate(model.index.get_level_values(0), first, model, 0.5))  # fmt: skip


def test_interpolation_without_a_fitted_weight_is_a_clear_error(tmp_path, scifact_train):
    from tests.rankers.test_neural_cross_encoder import TINY

    path = train_cross_encoder(scifact_train, config=TINY, progress=False, directory=tmp_path / "ce")
    with pytest.raises(ModelError, match="dev_fraction"):
        CrossEncoderReranker(path, interpolate=True)
    with pytest.raises(ModelError, match=r"\[0, 1\]"):
        CrossEncoderReranker(path, interpolate=2.0)
