"""PyTerrier interoperability on real SciFact data: the round trip gives the same scores both ways.

A PyTerrier pipeline built from irrobust's BM25 (``to_pyterrier``) and a PyTerrier function reranker
(``pt.apply.doc_score``) is compared with the irrobust pipeline that runs the same reranker through
``from_pyterrier``; shifts, smoothed rankers and attacks are exposed the same way. PyTerrier's JVM never starts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pt = pytest.importorskip("pyterrier")


def _overlap(df: pd.DataFrame) -> pd.Series:
    """A function reranker: query-term overlap with the text, tie-broken by text length (distinct, real scores)."""
    out = []
    for q, t in zip(df["query"], df["text"], strict=True):
        words = set(str(t).lower().split())
        out.append(sum(w in words for w in str(q).lower().split()) + 1e-4 * len(str(t)))
    return pd.Series(out, index=df.index, dtype=float)


@pytest.fixture(scope="module")
def scifact(seed):
    import irrobust as ir

    ds = ir.dataset("beir/scifact/test")
    return ds, ir.lucene_index(ds.collection, progress=False), ds.queries.sort_values("qid").head(5)


def test_round_trip_gives_the_same_scores(scifact):
    import irrobust as ir
    from irrobust.interop.pyterrier import from_pyterrier, to_pyterrier

    ds, index, queries = scifact
    bm25 = ir.BM25(index, k=30)
    rerank = pt.apply.doc_score(_overlap, batch_size=16)

    # an irrobust stage inside a PyTerrier pipeline
    pt_run = (to_pyterrier(bm25, docs=ds.docs) >> rerank).transform(queries)
    # a PyTerrier transformer inside an irrobust pipeline
    ir_run = (bm25 >> from_pyterrier(rerank, docs=ds.docs))(queries)
    # the reference: the function applied by hand to irrobust's BM25 run
    ref = bm25(queries)
    ref = ref.assign(text=ds.docs.texts(ref["docno"].tolist()))
    ref = ref.assign(score=_overlap(ref).to_numpy())

    assert len(pt_run) == len(ir_run) == len(ref) == 5 * 30
    key = ["qid", "docno"]
    a = pt_run.astype({"qid": str}).set_index(key)["score"].sort_index()
    b = ir_run.set_index(key)["score"].sort_index()
    c = ref.set_index(key)["score"].sort_index()
    assert a.index.equals(b.index) and a.index.equals(c.index)
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    np.testing.assert_array_equal(a.to_numpy(), c.to_numpy())
    # the reranker changed BM25's order, and both sides rank by the same scores (PyTerrier from 0, irrobust from 1)
    assert not np.array_equal(ir_run.sort_values(["qid", "rank"])["docno"].to_numpy(),
                              bm25(queries).sort_values(["qid", "rank"])["docno"].to_numpy())  # fmt: skip
    ranks = pt_run.astype({"qid": str}).set_index(key)["rank"].sort_index() + 1
    assert (ranks == ir_run.set_index(key)["rank"].sort_index()).all()
    # the wrapped irrobust stage alone speaks PyTerrier's convention: ranks from 0, the same order
    pt_bm25, ir_bm25 = to_pyterrier(bm25).transform(queries), bm25(queries)
    assert (pt_bm25.groupby("qid")["rank"].min() == 0).all()
    np.testing.assert_array_equal(pt_bm25["rank"].to_numpy() + 1, ir_bm25["rank"].to_numpy())
    assert pt_bm25["docno"].tolist() == ir_bm25["docno"].tolist()
    assert not pt.java.started()


def test_pyterrier_reranker_is_an_irrobust_ranker(scifact):
    """The wrapped doc_score reranker scores arbitrary texts through the protocol (what attacks/CertDR use)."""
    from irrobust.interop.pyterrier import from_pyterrier

    stage = from_pyterrier(pt.apply.doc_score(_overlap, batch_size=4))
    texts = ["vitamin d deficiency", "unrelated words here", "d"]
    got = stage.score_texts("vitamin d", texts)
    want = _overlap(pd.DataFrame({"query": ["vitamin d"] * 3, "text": texts})).to_numpy()
    np.testing.assert_array_equal(got, want)
    # a PyTerrier transformer that does not keep its input rows cannot score texts: a clear error
    from irrobust.errors import ModelError

    drop = from_pyterrier(pt.apply.generic(lambda df: df.head(1)))
    with pytest.raises(ModelError, match="does not keep the rows"):
        drop.score_texts("q", ["a", "b"])


def test_shift_smoothed_ranker_and_attack_as_pyterrier_transformers(scifact):
    import irrobust as ir
    from irrobust.attacks import make_attack
    from irrobust.certify.smoothing import SmoothedRanker, Squash, TextSampleScorer
    from irrobust.interop.pyterrier import attack_transformer, to_pyterrier
    from irrobust.shifts import Typos

    ds, index, queries = scifact
    bm25 = ir.BM25(index, k=10)

    # a query shift as a PyTerrier query rewriter: the same variants as irrobust's stage, original in query_0
    shift = Typos(seed=3, rate=0.5)
    rewritten = to_pyterrier(shift).transform(queries)
    direct = shift(queries)
    assert rewritten["query"].tolist() == direct["query"].tolist()
    assert rewritten["query_0"].tolist() == queries["query"].tolist() and rewritten["changed"].any()
    shifted = (to_pyterrier(shift) >> to_pyterrier(bm25)).transform(queries)
    assert shifted.astype({"qid": str}).sort_values(["qid", "rank"])["docno"].tolist() == \
        (shift >> bm25)(queries).sort_values(["qid", "rank"])["docno"].tolist()  # fmt: skip

    # a smoothed (CertDR) ranker as a PyTerrier reranker: its scores are the smoother's own
    from irrobust.certify.perturb import PerturbationSets

    sets = PerturbationSets({"vitamin": ["vitamins"], "cells": ["cell"]}, min_freq=0, graph="union")
    from irrobust.core.scoring import ProtocolTarget

    base = TextSampleScorer(ProtocolTarget(bm25), Squash("logistic", 10.0, 3.0))
    smoothed = SmoothedRanker(base, sets, n_samples=8, seed=0)
    res = (to_pyterrier(bm25, docs=ds.docs) >> to_pyterrier(smoothed)).transform(queries.head(2))
    for _qid, grp in res.groupby("qid"):
        want = smoothed.score(str(grp["query"].iloc[0]), grp["text"].tolist())
        np.testing.assert_allclose(grp["score"].to_numpy(), want, rtol=0, atol=0)
        assert sorted(grp["rank"].tolist()) == list(range(len(grp)))

    # an attack as a PyTerrier transformer: the last document of each list, promoted against BM25
    attack = attack_transformer(make_attack("random", max_words=5, query_budget=20), bm25, ranks=[-1])
    out = (to_pyterrier(bm25, docs=ds.docs) >> attack).transform(queries.head(2))
    assert len(out) == 2 and (out["rank_after"] <= out["rank_before"]).all()
    for _, row in out.iterrows():
        assert bm25.score_texts(row["query"], [row["text"]])[0] == pytest.approx(row["score_after"])
    assert not pt.java.started()


def test_missing_pyterrier_is_a_clear_error(monkeypatch):
    import builtins

    from irrobust.errors import ConfigError
    from irrobust.interop import pyterrier as irpt

    real = builtins.__import__

    def no_pyterrier(name, *args, **kwargs):
        if name == "pyterrier" or name.startswith("pyterrier."):
            raise ImportError("No module named 'pyterrier'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyterrier)
    with pytest.raises(ConfigError, match=r"pip install 'irrobust\[pyterrier\]'"):
        irpt.require_pyterrier()
