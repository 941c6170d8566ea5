"""Lexical rankers on real collections: reproduction of Pyserini's BEIR figures, operators, bad input."""

from __future__ import annotations

import pandas as pd
import pytest

import irrobust as ir
from irrobust.errors import IrrobustError


def test_bm25_reproduces_pyserini_beir_flat_scifact(seed):
    ds = ir.dataset("beir/scifact/test")
    res = ir.BM25(ir.lucene_index(ds, progress=False), k=100)(ds.queries)
    scores = ir.evaluate_run(res, ds.qrels, ["nDCG@10", "R@100"])
    assert scores["nDCG@10"] == pytest.approx(0.6789, abs=5e-5)
    assert scores["R@100"] == pytest.approx(0.9253, abs=5e-5)


def test_rankers_beat_nothing_and_differ(cranfield, cran_index):
    runs = {name: cls(cran_index, k=100)(cranfield.queries) for name, cls in [("bm25", ir.BM25), ("ql", ir.QL),
                                                                               ("rm3", ir.RM3)]}  # fmt: skip
    scores = {n: ir.evaluate_run(r, cranfield.qrels, ["nDCG@10"])["nDCG@10"] for n, r in runs.items()}
    assert all(0.3 < s < 0.6 for s in scores.values()), scores
    assert len({round(s, 6) for s in scores.values()}) == 3
    for r in runs.values():
        assert list(r.columns) == ["qid", "query", "docno", "score", "rank"]
        assert r.groupby("qid")["rank"].apply(lambda x: list(x) == list(range(1, len(x) + 1))).all()


def test_operators_compose_cut_and_fuse(cranfield, cran_index):
    q = cranfield.queries.head(5)
    bm25, ql = ir.BM25(cran_index, k=50), ir.QL(cran_index, k=50)
    cut = (bm25 % 10)(q)
    assert cut.groupby("qid").size().max() == 10
    fused = ir.rrf(bm25, ql)(q)
    assert set(fused.qid) == set(q.qid)
    top = fused[fused["rank"] == 1].set_index("qid")
    a, b = bm25(q), ql(q)
    for qid in q.qid:  # a document ranked first by both systems must be first in the fusion
        if a[(a.qid == qid) & (a["rank"] == 1)].docno.item() == b[(b.qid == qid) & (b["rank"] == 1)].docno.item():
            assert top.loc[qid, "docno"] == a[(a.qid == qid) & (a["rank"] == 1)].docno.item()
    summed = (bm25 + ql)(q)
    one = summed[(summed.qid == q.qid.iloc[0])].iloc[0]
    expect = a.set_index(["qid", "docno"]).score.get((one.qid, one.docno), 0) + b.set_index(
        ["qid", "docno"]).score.get((one.qid, one.docno), 0)  # fmt: skip
    assert one.score == pytest.approx(expect)


@pytest.mark.parametrize("queries, message", [
    (pd.DataFrame({"qid": ["1"], "query": ["   "]}), "empty query"),
    (pd.DataFrame({"qid": ["1", "1"], "query": ["a", "b"]}), "duplicate qid"),
    (pd.DataFrame({"id": ["1"], "text": ["a"]}), "lacks"),
])  # fmt: skip
def test_bad_queries_are_clear_errors(cran_index, queries, message):
    with pytest.raises(IrrobustError, match=message):
        ir.BM25(cran_index)(queries)
