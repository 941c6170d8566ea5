"""LambdaMART reranker: trained in seconds on a real SciFact subset, deterministic, safe model directories."""

from __future__ import annotations

import json

import numpy as np
import pytest

from irrobust.errors import ModelError

# lexical features only: the dense feature needs the collection's MiniLM embeddings (see the slow test)
FAST = dict(features=("bm25", "ql", "rm3", "tfidf", "doc_len", "query_len", "coverage", "idf_sum", "idf_max"),
            k=20, max_queries=80, n_estimators=60, early_stopping_rounds=20, seed=7)  # fmt: skip


@pytest.fixture(scope="module")
def models_root(tmp_path_factory):
    """Model directories go to a temporary folder (the Lucene index stays the shared one)."""
    import irrobust.rankers.ltr as ltr

    root = tmp_path_factory.mktemp("ltr-models")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ltr, "model_dir", lambda collection, name: root / collection / "models" / name)
        yield root


@pytest.fixture(scope="module")
def model(models_root, scifact_train):
    from irrobust.rankers.ltr import train_ltr

    return train_ltr(scifact_train, name="fast", **FAST)


def test_manifest_records_training(model, models_root):
    m = model.manifest
    assert model.directory == models_root / "beir/scifact" / "models" / "fast"
    assert m["dataset"] == "beir/scifact/train" and m["k"] == 20 and m["seed"] == 7
    assert m["features"] == list(FAST["features"])
    assert m["lightgbm_params"]["objective"] == "lambdarank" and m["lightgbm_params"]["deterministic"] is True
    assert 0 < m["valid_ndcg@10"] <= 1 and m["training_seconds"] > 0
    assert m["model_sha256"] == m["files"]["model.txt"]
    assert 1 <= m["best_iteration"] <= FAST["n_estimators"]


def test_beats_random_on_heldout_queries(model, heldout_run, scifact_test, random_ndcg):
    """Held-out = SciFact *test* queries (never seen in training); documents scored from their text."""
    from irrobust.evaluate.measures import evaluate_run
    from irrobust.rankers.ltr import LTRReranker

    out = LTRReranker(model)(heldout_run)
    assert len(out) == len(heldout_run) and "text" in out.columns
    assert set(zip(out.qid, out.docno, strict=True)) == set(zip(heldout_run.qid, heldout_run.docno, strict=True))
    qrels = scifact_test.qrels[scifact_test.qrels["qid"].isin(set(heldout_run["qid"]))]  # judged held-out queries only
    ltr = evaluate_run(out, qrels, ["nDCG@10"])["nDCG@10"]
    rand = random_ndcg(heldout_run, qrels)
    assert ltr > rand + 0.15, (ltr, rand)


def test_text_features_equal_index_features(model, heldout_run):
    from irrobust.rankers.ltr import LTRReranker

    stage = LTRReranker(model)
    with_text = stage.extractor.transform(heldout_run)
    from_index = stage.extractor.transform(heldout_run.drop(columns=["text"]))
    assert np.array_equal(with_text, from_index)
    # a perturbed text changes the features (attacks score what the document now says)
    row = heldout_run.iloc[[0]].copy()
    row["text"] = row["query"] + " " + row["query"] + " " + row["text"]
    assert stage.extractor.transform(row)[0, 0] > with_text[0, 0]


def test_same_seed_same_model_and_scores(model, scifact_train, heldout_run):
    from irrobust.rankers.ltr import LTRReranker, train_ltr

    again = train_ltr(scifact_train, name="fast-again", **FAST)
    assert again.manifest["model_sha256"] == model.manifest["model_sha256"]
    a = LTRReranker(model)(heldout_run)["score"].to_numpy()
    b = LTRReranker(again)(heldout_run)["score"].to_numpy()
    assert np.array_equal(a, b)


def test_reuse_mismatch_and_corruption(model, scifact_train, models_root):
    from irrobust.rankers.ltr import load_ltr, train_ltr

    reused = train_ltr(scifact_train, name="fast", **FAST)  # same config: loaded, not retrained
    assert reused.manifest["training_seconds"] == model.manifest["training_seconds"]
    with pytest.raises(ModelError, match="different configuration"):
        train_ltr(scifact_train, name="fast", **{**FAST, "n_estimators": 61})
    with pytest.raises(ModelError, match="no trained LTR model"):
        train_ltr(scifact_train, name="never-trained", fit=False, **FAST)

    broken = models_root / "broken"
    import shutil

    shutil.copytree(model.directory, broken)
    text = (broken / "model.txt").read_text()
    (broken / "model.txt").write_text(text.replace("Tree=0", "Tree=0\n", 1))
    with pytest.raises(ModelError, match="checksum"):
        load_ltr(broken)
    (broken / "model.txt").write_text(text)
    load_ltr(broken)  # restored: valid again
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["files"]["model.txt"] = manifest["model_sha256"] = "0" * 64
    (broken / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError):
        load_ltr(broken)
    (broken / "manifest.json").write_text("{not json")
    with pytest.raises(ModelError, match="manifest"):
        load_ltr(broken)
    (broken / "manifest.json").unlink()
    with pytest.raises(ModelError, match="no manifest"):
        load_ltr(broken)


def test_config_validation():
    from irrobust.rankers.ltr import LTRConfig

    with pytest.raises(ModelError, match="unknown LTR feature"):
        LTRConfig(dataset="x", features=("bm25", "pagerank"))
    with pytest.raises(ModelError):
        LTRConfig(dataset="x", valid_fraction=1.5)
    assert LTRConfig(dataset="x").digest() != LTRConfig(dataset="x", seed=1).digest()


def test_pipeline_component_registered():
    from pydantic import ValidationError

    from irrobust.pipeline import components_ltr  # noqa: F401
    from irrobust.pipeline.registry import RANKERS

    entry = RANKERS["ltr"]
    assert entry.family == "ltr"
    p = entry.params.model_validate({"k": 50, "features": ["bm25", "dense"]})
    assert p.k == 50 and p.features == ["bm25", "dense"]
    with pytest.raises(ValidationError):
        entry.params.model_validate({"features": ["pagerank"]})
    with pytest.raises(ValidationError):
        entry.params.model_validate({"unknown": 1})


def test_pipeline_defaults_are_the_config_defaults():
    """One home for each default: the pipeline's LTR params take their defaults from LTRConfig, and every config
    field a pipeline can set reaches train_ltr under its own name (so the default model name, ltr-<digest>, is the
    same whether a model is trained from Python or from a pipeline)."""
    from dataclasses import fields

    from irrobust.pipeline.components_ltr import CONFIG_KEYS, LTRParams
    from irrobust.rankers.ltr import LTRConfig

    defaults = LTRParams()
    config = LTRConfig(dataset="x")
    for key in CONFIG_KEYS:
        value = getattr(defaults, key)
        assert (tuple(value) if key == "features" else value) == getattr(config, key), key
    settable = {f.name for f in fields(LTRConfig)} - {"dataset", "seed", "disjoint_from", "num_threads", "bm25", "mu",
                                                      "rm3"}  # fmt: skip
    assert settable == set(CONFIG_KEYS) <= set(LTRParams.model_fields)
    config_from_params = LTRConfig(dataset="x", **{k: getattr(defaults, k) for k in CONFIG_KEYS})
    assert config_from_params.digest() == config.digest()

@pytest.mark.slow
def test_dense_feature_from_text(models_root, scifact_train, heldout_run):
    """The MiniLM cosine from stored embeddings equals a fresh encoding of the same text (within float error)."""
    import irrobust as ir
    from irrobust.rankers.ltr import FeatureExtractor

    fx = FeatureExtractor(ir.lucene_index(scifact_train.collection, progress=False), "beir/scifact", ("dense",))
    sub = heldout_run.head(10)
    stored = fx.transform(sub.drop(columns=["text"]))[:, 0]
    fresh = fx._dense_scores(sub.assign(text=sub["text"] + " "))  # a different string: encoded anew
    assert np.allclose(stored, fresh, atol=1e-3)
    assert ((stored > -1) & (stored < 1)).all()
