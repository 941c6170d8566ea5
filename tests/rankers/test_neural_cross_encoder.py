"""Cross-encoder: scorer exactness vs sentence-transformers, training, reproducibility, model-dir errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from irrobust.errors import ModelError
from irrobust.index.models import check_model_dir
from irrobust.rankers.cross_encoder import (
    KIND,
    CrossEncoderConfig,
    CrossEncoderReranker,
    load_cross_encoder,
    train_cross_encoder,
)
from irrobust.rankers.scoring import CrossEncoderScorer, plan_batches
from irrobust.rankers.training import NegativesConfig

TINY = CrossEncoderConfig(max_queries=8, max_length=64, negatives=NegativesConfig(n_neg=1, depth=20), seed=3)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, scifact_train):
    return train_cross_encoder(
        scifact_train, name="ce-tiny", config=TINY, progress=False, directory=tmp_path_factory.mktemp("ce") / "ce-tiny"
    )


def test_plan_batches_covers_all_and_respects_budget():
    lengths = np.array([5, 40, 7, 33, 12, 40, 1])
    plan = plan_batches(lengths, token_budget=80, max_batch=3)
    flat = np.concatenate(plan)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    for b in plan:
        assert len(b) <= 3 and len(b) * lengths[b].max() <= 80
        assert lengths[b[0]] == lengths[b].max()


def test_scorer_equals_sentence_transformers_predict(tiny_model, heldout_run):
    from sentence_transformers import CrossEncoder

    sample = heldout_run.iloc[::7].head(48)
    pairs = list(zip(sample["query"], sample["text"], strict=True))
    ref = CrossEncoder(str(tiny_model), device="cpu").predict(pairs, show_progress_bar=False)
    ours = CrossEncoderScorer(tiny_model, token_budget=1024).score_pairs(pairs)
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() < 1e-4
    assert np.std(ours) > 1e-4  # not a constant function


def test_scorer_cache_and_order(tiny_model, heldout_run):
    sample = heldout_run.head(10)
    scorer = CrossEncoderScorer(tiny_model, cache_size=100)
    first = scorer.score(sample["query"].tolist(), sample["text"].tolist())
    rev = scorer.score(sample["query"].tolist()[::-1], sample["text"].tolist()[::-1])
    assert scorer.stats["cache_hits"] == 10
    np.testing.assert_array_equal(rev, first[::-1])


def test_training_is_reproducible(tiny_model, tmp_path, scifact_train, heldout_run):
    again = train_cross_encoder(
        scifact_train, name="ce-tiny", config=TINY, progress=False, directory=tmp_path / "ce-tiny"
    )
    m1 = json.loads((tiny_model / "manifest.json").read_text())
    m2 = json.loads((again / "manifest.json").read_text())
    assert m1["files"]["model.safetensors"] == m2["files"]["model.safetensors"]
    assert [c["loss"] for c in m1["loss_curve"]] == [c["loss"] for c in m2["loss_curve"]]
    sample = heldout_run.head(12)
    s1 = CrossEncoderReranker(tiny_model)(sample)["score"].to_numpy()
    s2 = CrossEncoderReranker(again)(sample)["score"].to_numpy()
    np.testing.assert_array_equal(s1, s2)
    other = train_cross_encoder(
        scifact_train,
        name="ce-tiny",
        progress=False,
        directory=tmp_path / "ce-seed4",
        config=CrossEncoderConfig(max_queries=8, max_length=64, seed=4, negatives=NegativesConfig(n_neg=1, depth=20)),
    )
    m3 = json.loads((other / "manifest.json").read_text())
    assert m3["files"]["model.safetensors"] != m1["files"]["model.safetensors"]


def test_manifest_records_training(tiny_model):
    m = json.loads((tiny_model / "manifest.json").read_text())
    assert m["kind"] == KIND and m["dataset"] == "beir/scifact/train"
    assert m["seed"] == 3 and m["negatives"]["n_neg"] == 1 and m["loss_curve"]
    assert len(m["tokenizer"]["vocab_sha256"]) == 64 and m["training_seconds"] > 0
    assert set(m["files"]) >= {"model.safetensors", "config.json", "tokenizer.json"}
    from irrobust.util.compute import resolve_device, training_precision

    # where and in which precision it trained: fp32 on the CPU; bf16/fp16 autocast on CUDA (device auto)
    assert m["training_device"] == resolve_device("auto")
    assert m["training_precision"] == training_precision(m["training_device"])


def test_reranker_uses_text_column_over_docstore(tiny_model, heldout_run, scifact_test):
    sample = heldout_run[heldout_run["qid"] == heldout_run["qid"].iloc[0]].head(5)
    ce = CrossEncoderReranker(tiny_model, docs=scifact_test.docs)
    from_store = ce(sample.drop(columns="text"))
    from_text = ce(sample)
    assert from_store.set_index("docno")["score"].to_dict() == pytest.approx(
        from_text.set_index("docno")["score"].to_dict()
    )
    perturbed = ce(sample.assign(text="completely unrelated words about football"))
    assert not np.allclose(perturbed["score"].sort_values().to_numpy(), from_text["score"].sort_values().to_numpy())
    with pytest.raises(ModelError, match="no 'text' column"):
        CrossEncoderReranker(tiny_model)(sample.drop(columns="text"))


def test_missing_model_says_how_to_train():
    with pytest.raises(ModelError, match="train_cross_encoder"):
        load_cross_encoder("beir/scifact/train", name="no-such-model-for-tests")


def test_wrong_dataset_and_tokenizer_are_rejected(tiny_model, tmp_path):
    with pytest.raises(ModelError, match="trained on 'beir/scifact/train'.*'beir/nfcorpus/train'"):
        check_model_dir(tiny_model, KIND, dataset="beir/nfcorpus/train")
    with pytest.raises(ModelError, match="vocabulary"):
        check_model_dir(tiny_model, KIND, vocab="0" * 64)
    with pytest.raises(ModelError, match="not a 'knrm' model"):
        check_model_dir(tiny_model, "knrm")


def test_corrupted_model_is_detected(tiny_model, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(tiny_model, bad)
    with open(bad / "model.safetensors", "r+b") as fh:
        fh.seek(-16, 2)
        fh.write(b"\x00" * 16)
    with pytest.raises(ModelError, match="checksum"):
        CrossEncoderReranker(bad)
    missing = tmp_path / "missing"
    shutil.copytree(tiny_model, missing)
    (missing / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match="missing"):
        CrossEncoderReranker(missing)
    (missing / "manifest.json").unlink()
    with pytest.raises(ModelError, match="no manifest"):
        CrossEncoderReranker(missing)


@pytest.mark.slow
def test_small_cross_encoder_beats_random(tmp_path, scifact_train, scifact_test, heldout_run, random_ndcg):
    from irrobust.evaluate.measures import evaluate_run

    path = train_cross_encoder(
        scifact_train,
        config=CrossEncoderConfig(max_queries=40, max_length=128),
        progress=False,
        directory=tmp_path / "ce40",
    )
    reranked = CrossEncoderReranker(path)(heldout_run)
    qrels = scifact_test.qrels[scifact_test.qrels["qid"].isin(heldout_run["qid"])]
    ce = evaluate_run(reranked, qrels, ["nDCG@10"])["nDCG@10"]
    assert ce > random_ndcg(heldout_run, qrels) + 0.05


def test_model_names_follow_training_settings():
    from irrobust.rankers.knrm import KNRMConfig, KNRMReranker

    assert CrossEncoderReranker.auto_name(None) == CrossEncoderReranker.auto_name(CrossEncoderConfig(seed=42)) == \
        "ce-minilm"  # fmt: skip
    one = CrossEncoderReranker.auto_name(CrossEncoderConfig(epochs=1, seed=42))
    assert one == CrossEncoderReranker.auto_name(CrossEncoderConfig(epochs=1, seed=3)) != "ce-minilm"
    assert one != CrossEncoderReranker.auto_name(CrossEncoderConfig(epochs=3))
    assert CrossEncoderReranker.auto_name(TINY) not in (one, "ce-minilm")  # quick runs never clobber real models
    assert KNRMReranker.auto_name(KNRMConfig(seed=1)) == "knrm-minilm"
    assert KNRMReranker.auto_name(KNRMConfig(epochs=1)).startswith("knrm-minilm-")
