"""Targets of every ranker family score clean documents as the rankers do; target selection; cached target."""

from __future__ import annotations

import numpy as np
import pytest

from irrobust.attacks import CachedTarget, UncachedTarget
from irrobust.attacks.targets import select_targets
from irrobust.attacks.victims import ProtocolTarget, attack_target, attack_white_box
from irrobust.errors import ModelError


def test_bm25_target_equals_pyserini_on_clean_documents(bm25_lists, scifact_index):
    """The BM25 target (Lucene's formula in Python, index statistics) equals pyserini's scores within 1e-4."""
    import irrobust as ir

    target = attack_target(ir.BM25(scifact_index, k=100))
    assert isinstance(target, ProtocolTarget)
    for lst in bm25_lists:
        ours = target.score(lst["query"], lst["texts"])
        assert np.max(np.abs(ours - lst["run_scores"])) < 1e-4


def test_ql_target_equals_pyserini_on_clean_documents(scifact, scifact_index):
    import irrobust as ir

    queries = scifact.queries.sort_values("qid").head(2)
    run = ir.QL(scifact_index, k=100)(queries)
    target = attack_target(ir.QL(scifact_index, k=100))
    for _, grp in run.groupby("qid"):
        ours = target.score(grp["query"].iloc[0], scifact.docs.texts(grp["docno"].tolist()))
        assert np.max(np.abs(ours - grp["score"].to_numpy())) < 1e-4


def test_reranker_targets_match_their_rankers(bm25_lists, scifact, knrm_reranker, subset_dataset, monkeypatch,
                                             tmp_path):  # fmt: skip
    """KNRM, LTR and dense-reranking targets give the stage's own scores of the clean texts.

    The dense check uses an index of the list's 20 real documents (the full SciFact index costs a 5,183-document
    encoding in a fresh checkout)."""
    import pandas as pd

    from irrobust.index.dense import dense_index
    from irrobust.rankers.dense import DenseReranker, DenseRetriever

    lst = bm25_lists[0]
    table = pd.DataFrame({"qid": lst["qid"], "query": lst["query"], "docno": lst["docnos"][:20],
                          "score": lst["run_scores"][:20], "rank": np.arange(1, 21)})
    knrm_scores = knrm_reranker(table).set_index("docno")["score"]
    ours = attack_target(knrm_reranker, threads=1).score(lst["query"], lst["texts"][:20])
    assert np.allclose(ours, knrm_scores.loc[lst["docnos"][:20]].to_numpy(), atol=1e-6)
    monkeypatch.setenv("IRROBUST_INDEXES", str(tmp_path / "indexes"))
    index = dense_index(subset_dataset(scifact, lst["docnos"][:20], "scifact-attack-list"), progress=False)
    dense_scores = DenseReranker(index=index)(table).set_index("docno")["score"]  # stored corpus embeddings
    ours = attack_target(DenseRetriever(index, k=100)).score(lst["query"], lst["texts"][:20])  # fresh encodings
    assert np.allclose(ours, dense_scores.loc[lst["docnos"][:20]].to_numpy(), atol=1e-4)


def test_rm3_and_unknown_stages_are_not_attackable(scifact_index):
    """RM3 declares it cannot score texts; a non-ranker has no score_texts: both are refused, and neither has a
    white box."""
    import irrobust as ir

    with pytest.raises(ModelError):
        attack_target(ir.RM3(scifact_index, k=10))
    with pytest.raises(ModelError, match="RM3 expands the query"):
        attack_target(ir.RM3(scifact_index, k=10) % 5)  # a composite: its scoring stage is RM3
    with pytest.raises(ModelError, match="not a ranker"):
        attack_target(object())
    assert attack_white_box(ir.RM3(scifact_index, k=10)) is None
    assert attack_white_box(ir.BM25(scifact_index, k=10)) is None  # a black-box ranker


def test_cached_target_counts_and_caches(bm25_lists, scifact_index):
    import irrobust as ir

    lst = bm25_lists[0]
    inner = attack_target(ir.BM25(scifact_index, k=100))
    cached = CachedTarget(inner, batch_size=16)
    first = cached.score(lst["query"], lst["texts"][:40])
    assert (cached.calls, cached.requests, cached.batches) == (40, 40, 3)
    again = cached.score(lst["query"], lst["texts"][:40] + lst["texts"][:5])
    assert cached.calls == 40 and cached.requests == 85
    assert np.array_equal(again[:40], first) and np.array_equal(again[40:], first[:5])
    naive = UncachedTarget(inner)
    assert np.array_equal(naive.score(lst["query"], lst["texts"][:5]), first[:5]) and naive.batches == 5


def test_easy_and_hard_sets():
    sel = select_targets(100, "42", seed=7, key="bm25")
    assert sel["hard"] == [96, 97, 98, 99, 100]
    assert [lo <= r <= lo + 9 for r, lo in zip(sel["easy"], (51, 61, 71, 81, 91), strict=True)] == [True] * 5
    assert sel == select_targets(100, "42", seed=7, key="bm25")
    draws = {tuple(select_targets(100, "42", seed=s, key="bm25")["easy"]) for s in range(10)}
    assert len(draws) > 1  # the draw depends on the seed
    assert select_targets(30, "1", seed=0)["easy"] == []


def test_ltr_and_cross_encoder_targets(bm25_lists, ltr_reranker, ce_reranker):
    """LTR (features recomputed from the text) and the cross-encoder are attackable and agree with their stages.

    Both models are trained small in fixtures (never skipped for a missing model). With lexical features only,
    the LTR target's features from the text equal the stage's from the index, so the scores agree."""
    import pandas as pd

    lst = bm25_lists[1]
    n = 12
    table = pd.DataFrame({"qid": lst["qid"], "query": lst["query"], "docno": lst["docnos"][:n],
                          "score": lst["run_scores"][:n], "rank": np.arange(1, n + 1)})
    ltr_stage = ltr_reranker(table).set_index("docno")["score"].loc[lst["docnos"][:n]].to_numpy()
    ltr_target = attack_target(ltr_reranker).score(lst["query"], lst["texts"][:n])
    assert np.std(ltr_stage) > 0  # a model that ranks, not a constant
    assert np.allclose(ltr_stage, ltr_target, atol=1e-6)
    stuffed = f"{lst['query']} {lst['query']} {lst['texts'][n - 1]}"  # the target reads the text it is given
    assert attack_target(ltr_reranker).score(lst["query"], [stuffed])[0] != ltr_target[n - 1]
    ce_stage = ce_reranker(table).set_index("docno")["score"].loc[lst["docnos"][:n]].to_numpy()
    ce_target = attack_target(ce_reranker, threads=1).score(lst["query"], lst["texts"][:n])
    assert np.std(ce_stage) > 0
    assert np.allclose(ce_stage, ce_target, atol=1e-5)
    # every document stuffed with the query: a target that reads its text scores them differently (one equal score
    # can happen with a 48-token model, whose truncation may keep the same pieces)
    stuffed_all = [f"{lst['query']} {lst['query']} {t}" for t in lst["texts"][:n]]
    ce_stuffed = attack_target(ce_reranker, threads=1).score(lst["query"], stuffed_all)
    assert np.sum(~np.isclose(ce_stuffed, ce_target, rtol=0, atol=1e-9)) >= n // 2
    # white box: gradients of the document-side pieces, aligned with their character offsets in the document
    wb = attack_white_box(ce_reranker)
    assert ce_reranker.capabilities.differentiable and wb is not None
    emb, grad = wb.score_grad(lst["query"], lst["texts"][0])
    ids, offsets = wb.doc_tokens(lst["texts"][0], lst["query"])
    assert emb.shape == grad.shape and emb.shape[0] == len(ids) == len(offsets) > 10
    assert float(grad.norm()) > 0
    assert lst["texts"][0][offsets[0][0]:offsets[0][1]].lower() == wb.tok.convert_ids_to_tokens(ids[0])
