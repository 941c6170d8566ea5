"""Bring your own model: an externally saved CrossEncoder and SentenceTransformer (made from the MiniLM package with
sentence-transformers' own ``save`` — not irrobust-trained models) in Python and in YAML.

Fast checks: the external cross-encoder scores exactly what ``CrossEncoder.predict`` gives; the external encoder's
dense index is keyed by its fingerprint (files + settings, never the device) and holds exactly what
``SentenceTransformer.encode`` gives; the ``model:`` rule (name / directory relative to the pipeline file / hub
id) and its located errors. Slow: a tiny version of ``pipelines/byo_scifact.yaml`` (shifts, PRADA, CertDR).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from irrobust.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("make_external_models", REPO / "scripts/make_external_models.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def external(tmp_path_factory):
    """``(cross-encoder dir, sentence-transformer dir)`` written by scripts/make_external_models.py."""
    out = tmp_path_factory.mktemp("external")
    mod = _script()
    ce = mod.make_cross_encoder(out / "my-ce", seed=0, max_length=128)
    st = mod.make_sentence_transformer(out / "my-st")
    assert not (ce / "manifest.json").exists() and not (st / "manifest.json").exists()  # not irrobust's
    return ce, st


TEXTS = ["Vitamin D deficiency is associated with bone fractures in older adults.",
         "The central bank raised interest rates again.", "vitamin " * 300, ""]  # fmt: skip


def test_external_cross_encoder_scores_as_sentence_transformers(external):
    from sentence_transformers import CrossEncoder

    from irrobust.rankers.cross_encoder import CrossEncoderReranker

    ce_dir, _ = external
    ce = CrossEncoderReranker.from_pretrained(ce_dir, device="cpu")
    assert ce.external is not None and ce.external.kind == "dir" and ce.name == "CE(my-ce)"
    got = ce.score_texts("vitamin d fractures", TEXTS)
    ref = CrossEncoder(str(ce_dir), device="cpu").predict([("vitamin d fractures", t) for t in TEXTS])
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)
    assert ((got > 0) & (got < 1)).all() and len(set(np.round(got, 6))) == len(TEXTS)
    # the same class as irrobust's own cross-encoder: the scoring protocol, bounded for certification
    assert ce.capabilities.bounded == "identity" and ce.capabilities.differentiable
    spec = ce.spec()
    assert spec["external"] == "dir" and len(spec["fingerprint"]) == 64 and "device" not in spec
    raw = CrossEncoderReranker.from_pretrained(ce_dir, device="cpu", activation="none").score_texts("vitamin d fractures", TEXTS)
    np.testing.assert_allclose(1 / (1 + np.exp(-raw)), got, atol=1e-6)


def test_hub_ids_go_through_the_ordinary_sentence_transformers_calls(external, monkeypatch):
    """Offline stand-in for the hub: the id reaches ``CrossEncoder(id)`` / ``SentenceTransformer(id)`` unchanged
    (sentence-transformers downloads it when online); the fingerprint then hashes the loaded weights."""
    import sentence_transformers

    from irrobust.index import dense as dense_mod
    from irrobust.index.dense import DenseEncoder
    from irrobust.rankers.cross_encoder import CrossEncoderReranker
    from irrobust.util.model_ref import module_fingerprint

    ce_dir, st_dir = external
    calls = []
    real_ce, real_st = sentence_transformers.CrossEncoder, sentence_transformers.SentenceTransformer

    def fake_ce(source, **kwargs):
        calls.append(("ce", source, kwargs.get("max_length")))
        return real_ce(str(ce_dir), **kwargs)

    def fake_st(source, **kwargs):
        calls.append(("st", source, None))
        return real_st(str(st_dir), **kwargs)

    monkeypatch.setattr(sentence_transformers, "CrossEncoder", fake_ce)
    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", fake_st)
    dense_mod._load_encoder.cache_clear()
    try:
        ce = CrossEncoderReranker.from_pretrained("example-org/example-reranker", device="cpu", max_length=64)
        assert ce.external.kind == "hub" and ce.spec()["external"] == "hub" and ce.scorer.max_length == 64
        assert ce.spec()["fingerprint"] == module_fingerprint(ce.scorer.model)
        enc = DenseEncoder("example-org/example-encoder", device="cpu")
        assert enc.encode_queries(["vitamin d"]).shape == (1, 384) and len(enc.fingerprint()) == 64
    finally:
        dense_mod._load_encoder.cache_clear()
    assert calls == [("ce", "example-org/example-reranker", 64), ("st", "example-org/example-encoder", None)]


def test_fingerprint_follows_the_files(external, tmp_path):
    from irrobust.util.model_ref import directory_fingerprint

    ce_dir, _ = external
    copy = tmp_path / "copy"
    shutil.copytree(ce_dir, copy)
    assert directory_fingerprint(copy) == directory_fingerprint(ce_dir)  # content, not location
    (copy / "tokenizer_config.json").write_text((copy / "tokenizer_config.json").read_text() + " ")
    assert directory_fingerprint(copy) != directory_fingerprint(ce_dir)


def test_external_sentence_transformer_index_is_keyed_by_fingerprint(external, tmp_path, scifact_test,
                                                                      heldout_run, subset_dataset):  # fmt: skip
    from sentence_transformers import SentenceTransformer

    from irrobust.index.dense import DenseEncoder, dense_dir, dense_index
    from irrobust.rankers.dense import DenseReranker, DenseRetriever

    _, st_dir = external
    queries = scifact_test.queries.sort_values("qid").head(4)
    run = heldout_run[heldout_run["qid"].isin(queries["qid"]) & (heldout_run["rank"] <= 5)]
    sub = subset_dataset(scifact_test, run["docno"], "scifact-byo", queries)
    os.environ["IRROBUST_INDEXES"] = str(tmp_path / "indexes")
    try:
        enc = DenseEncoder(st_dir, device="cpu")
        assert not enc.builtin and enc.label == "my-st"
        assert enc.fingerprint() == DenseEncoder(st_dir, device="auto").fingerprint()  # never the device
        prompted = DenseEncoder(st_dir, query_prompt="query: ")
        assert prompted.fingerprint() != enc.fingerprint()
        assert dense_dir(sub.collection, enc).name == f"dense-{enc.fingerprint()[:16]}"
        assert dense_dir(sub.collection, DenseEncoder()).name == "dense-minilm"  # irrobust's own index unchanged
        idx = dense_index(sub, progress=False, encoder=enc)
        assert idx.manifest["kind"] == "dense-encoder" and idx.manifest["model_fingerprint"] == enc.fingerprint()
        docnos, texts = zip(*sub.docs.iter(), strict=True)
        ref = SentenceTransformer(str(st_dir), device="cpu").encode(list(texts), normalize_embeddings=True)
        np.testing.assert_array_equal(idx.vectors(list(docnos)), ref)
        before = (idx.directory / "embeddings.npy").stat().st_mtime_ns
        again = dense_index(sub, progress=False, encoder=DenseEncoder(st_dir))
        assert (again.directory / "embeddings.npy").stat().st_mtime_ns == before  # reused
        res = DenseRetriever(idx, k=5)(queries)
        assert res.groupby("qid").size().eq(5).all() and "encoder" in DenseRetriever(idx, k=5).spec()
        # the reranker of an external encoder encodes the candidates itself and agrees with the stored vectors
        rr = DenseReranker(docs=sub.docs, encoder=enc)(res.drop(columns=["score", "rank"]))
        merged = res.merge(rr, on=["qid", "docno"], suffixes=("", "_rr"))
        np.testing.assert_allclose(merged["score"], merged["score_rr"], atol=1e-5)
    finally:
        os.environ.pop("IRROBUST_INDEXES", None)


def _pipeline(tmp_path: Path, stage: str) -> Path:
    p = tmp_path / "sub" / "p.yaml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("name: byo\ndatasets: [cranfield]\nmeasures: [nDCG@10]\nbaseline: bm25\nsystems:\n"
                 "  - name: bm25\n    stages: [{ranker: bm25, params: {k: 20}}]\n"
                 f"  - name: x\n    stages: [{{ranker: bm25, params: {{k: 20}}}}, {stage}]\n")  # fmt: skip
    return p


def test_model_rule_in_yaml(external, tmp_path):
    from irrobust.pipeline.config import load_pipeline

    ce_dir, st_dir = external
    shutil.copytree(ce_dir, tmp_path / "models" / "ce")
    # relative to the pipeline file (not the working directory), made absolute for the run
    cfg = load_pipeline(_pipeline(tmp_path, "{ranker: cross_encoder, params: {model: ../models/ce}}"))
    assert cfg.systems[1].stages[1].params["model"] == str((tmp_path / "models" / "ce").resolve())
    # an irrobust model name and a hub id pass validation as they are (a hub id loads only when run)
    cfg = load_pipeline(_pipeline(tmp_path, "{ranker: cross_encoder, params: {model: ce-minilm, epochs: 1}}"))
    assert cfg.systems[1].stages[1].params["model"] == "ce-minilm"
    hub = "cross-encoder/ms-marco-MiniLM-L6-v2"
    assert load_pipeline(_pipeline(tmp_path, f"{{ranker: cross_encoder, params: {{model: {hub}}}}}")).systems[1] \
        .stages[1].params["model"] == hub  # fmt: skip
    load_pipeline(_pipeline(tmp_path, f"{{ranker: dense_rerank, params: {{model: {st_dir}, query_prompt: 'q: '}}}}"))
    bad = {
        "{ranker: cross_encoder, params: {model: ../models/missing}}": "no model directory",
        "{ranker: cross_encoder, params: {model: ./}}": "is not a model directory",
        "{ranker: cross_encoder, params: {model: ../models/ce, epochs: 2}}": "epochs apply to models irrobust trains",
        "{ranker: cross_encoder, params: {model: ../models/ce, interpolate: true}}": "interpolate: true",
        "{ranker: dense_rerank, params: {model: ce-minilm}}": "irrobust trains no dense models",
        "{ranker: cross_encoder, params: {model: 'a b/c'}}": "neither an existing model directory",
    }
    for stage, message in bad.items():
        with pytest.raises(ConfigError, match=message) as err:
            load_pipeline(_pipeline(tmp_path, stage))
        assert "systems[1].stages[1].params.model" in str(err.value) or "params" in str(err.value), stage
    # the CLI: exit code 2 and a located message, no traceback
    done = subprocess.run([sys.executable, "-m", "irrobust.cli", "validate",
                           str(_pipeline(tmp_path, "{ranker: cross_encoder, params: {model: ../models/missing}}"))],
                          capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2 and "systems[1].stages[1].params.model" in done.stderr
    assert "no model directory" in done.stderr and "Traceback" not in done.stderr


def test_model_ref_rule():
    from irrobust.util.model_ref import parse_model_ref

    assert parse_model_ref("knrm-minilm").kind == "name"
    assert parse_model_ref("org/model-v2").kind == "hub"
    with pytest.raises(ConfigError, match="no model directory"):
        parse_model_ref("/no/such/model")
    with pytest.raises(ConfigError, match="no model directory"):
        parse_model_ref("models/ce/v2", base_dir="/nonexistent")  # two slashes: a path, never a hub id
    with pytest.raises(ConfigError, match="not a model name"):
        parse_model_ref("bad name")


@pytest.mark.slow
def test_tiny_byo_pipeline_runs_shifts_prada_and_certdr(external, tmp_path):
    """pipelines/byo_scifact.yaml in small: the external models under shifts, PRADA and CertDR through the CLI."""
    import json

    import pandas as pd
    import yaml

    from irrobust.cli import main

    ce_dir, st_dir = external
    cfg = yaml.safe_load((REPO / "pipelines/byo_scifact.yaml").read_text())
    cfg["max_queries"] = 2
    cfg["systems"][1]["stages"][1]["params"]["model"] = str(ce_dir)
    cfg["systems"][2]["stages"][1]["params"]["model"] = str(st_dir)
    for system in cfg["systems"][1:]:
        system["stages"][0]["cutoff"] = 10
    cfg["tasks"]["shifts"]["items"] = cfg["tasks"]["shifts"]["items"][:1]
    cfg["tasks"]["attacks"].update({"targets": {"depth": 10, "sets": ["hard"], "hard": 1}})
    cfg["tasks"]["attacks"]["items"][0]["params"]["query_budget"] = 8
    cfg["tasks"]["certify"].update({"max_queries": 1, "depth": 3, "samples": 4, "calibration_queries": 2})
    p = tmp_path / "byo.yaml"
    p.write_text(yaml.safe_dump(cfg))
    assert main(["run", str(p), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    table = pd.read_csv(tmp_path / "run" / "results.csv", dtype={"qid": str})
    for system in ("bm25>>my-ce", "bm25>>my-dense"):
        rows = table[table.system == system]
        assert {"effectiveness", "query-shift"} <= set(rows.task), system
        assert "ranking-attack" in set(rows.task) and any("certif" in t for t in rows.task.unique()), system
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert "my-ce" in json.dumps(manifest)
