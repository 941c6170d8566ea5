"""Exact BM25 certificates under re-indexing: every attack's re-indexed scores (df, avgdl and N recomputed for the
attacked collection) stay within the bounds, on lists of real-document windows, by exhaustive enumeration."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from irrobust.certify.exact_bm25 import certify_exact, max_score_under_attack
from irrobust.certify.exact_reindexed import certify_reindexed, length_range
from irrobust.certify.perturb import split_token
from irrobust.rankers.lucene_scoring import bm25_scores, encode_lengths, query_terms


def _attacks(sets, text, budget):
    toks = text.split()
    subs = [(i, sets.synonyms(split_token(t)[1])) for i, t in enumerate(toks)]
    subs = [(i, s) for i, s in subs if s]
    for r in range(1, (len(subs) if budget is None else min(budget, len(subs))) + 1):
        for combo in itertools.combinations(subs, r):
            for choice in itertools.product(*[s for _, s in combo]):
                tt = list(toks)
                for (i, _), w in zip(combo, choice, strict=True):
                    tt[i] = sets.token_text(tt[i], sets.word_id(w))
                yield " ".join(tt)


def _n_attacks(sets, text):
    n = 1
    for t in text.split():
        n *= 1 + len(sets.synonyms(split_token(t)[1]))
    return n


@pytest.fixture(scope="module")
def window_list(sets, lists, lucene):
    """A candidate list of 9-word windows of one real query's documents: windows an attack improves (by query-term
    gains or length), and windows holding the query's terms (the top of the list)."""
    for _, query, _, texts, _ in lists:
        terms, _ = query_terms(lucene.stats, query)
        gain, top = [], []
        for text in texts:
            toks = text.split()
            for start in range(0, max(len(toks) - 9, 1), 3):
                short = " ".join(toks[start : start + 9])
                if _n_attacks(sets, short) > 3000:
                    continue
                if max_score_under_attack(lucene, sets, query, short, budget=None).gain > 0.05:
                    gain.append(short)
                elif len(set(lucene.stats.analyze(short)) & set(terms)) >= 2:
                    top.append(short)
        if len(gain) >= 3 and len(top) >= 2:
            return query, gain[:: max(len(gain) // 4, 1)][:4] + top[:3]
    pytest.fail("no query with enough windows")  # the fixture lists are fixed: this does not happen


def _reindexed_scores(lucene, query, texts, j, attacked):
    """BM25 of every text of the list after replacing text j by ``attacked`` and re-indexing: df, N, avgdl updated."""
    stats = lucene.stats
    terms, boosts = query_terms(stats, query)
    old, new = stats.analyze(texts[j]), stats.analyze(attacked)
    df = np.array([stats.df(t) - (t in old) + (t in new) for t in terms], dtype=np.int64)
    n_docs = stats.N - (len(old) > 0 and len(new) == 0)
    avgdl = (stats.sum_ttf + len(new) - len(old)) / n_docs
    docs = [attacked if i == j else t for i, t in enumerate(texts)]
    analysed = stats.analyze_many(docs)
    tf = np.array([[a.count(t) for t in terms] for a in analysed], dtype=np.int64)
    norms = encode_lengths([len(a) for a in analysed])
    p = lucene.resolve("bm25", {})
    return bm25_scores(tf, norms, df, boosts, SimpleNamespace(N=n_docs, avgdl_f32=np.float32(avgdl)), p["k1"], p["b"])


@pytest.mark.parametrize("budget", [1, None])
def test_every_reindexed_attack_stays_within_the_bounds(sets, lucene, window_list, budget):
    query, texts = window_list
    cert = certify_reindexed(lucene, sets, query, texts, budget, ks=[1, 2, 3])
    stats = lucene.stats
    old_terms = [set(stats.analyze(t)) for t in texts]
    checked = df_moved = 0
    tol = 1e-5
    for j, text in enumerate(texts):
        for attacked in _attacks(sets, text, budget):
            s = _reindexed_scores(lucene, query, texts, j, attacked)
            assert s[j] <= cert.upper[j] + tol, (j, attacked)  # the attacked document
            others = np.arange(len(texts)) != j
            assert (s[others] <= cert.upper[others] + tol).all()  # the others, whose idf and norms moved
            assert (s[others] >= cert.lower[others] - tol).all()
            df_moved += set(stats.analyze(attacked)) != old_terms[j]
            checked += 1
    assert checked >= 100 and df_moved >= 10  # the attacks did change document frequencies
    # never more than the frozen-index certificate, and the bounds enclose the frozen scores
    frozen = certify_exact(cert.clean, np.array([max_score_under_attack(lucene, sets, query, t, budget).score
                                                  for t in texts]), ks=[1, 2, 3])  # fmt: skip
    assert all(frozen[k] or not v for k, v in cert.decisions.items())
    assert (cert.lower <= cert.clean + tol).all() and (cert.upper >= cert.clean - tol).all()


def test_length_range(sets, lucene, window_list):
    _, texts = window_list
    for t in texts:
        base, lo, hi = length_range(lucene.stats, sets, t, None)
        assert base == len(lucene.stats.analyze(t)) and lo <= 0 <= hi
        lengths = [len(lucene.stats.analyze(a)) - base for a in _attacks(sets, t, None)]
        assert min(lengths, default=0) >= lo and max(lengths, default=0) <= hi


def test_full_lists_certify_less_than_or_as_much_as_frozen(sets, lucene, lists):
    _, query, _, texts, _ = lists[0]
    cert = certify_reindexed(lucene, sets, query, texts, 1, ks=[1, 2, 5, 10])
    frozen = certify_exact(cert.clean, np.array([max_score_under_attack(lucene, sets, query, t, 1).score
                                                  for t in texts]), ks=[1, 2, 5, 10])  # fmt: skip
    assert all(frozen[k] or not v for k, v in cert.decisions.items())
    assert cert.avgdl[0] <= lucene.stats.avgdl <= cert.avgdl[1]


def test_pipeline_exact_result_has_both_certificates(sets, lucene, lists):
    from irrobust.pipeline.certify_task import _exact_result

    qid, query, docnos, texts, scores = lists[1]
    res = _exact_result(lucene, sets, {"qid": qid, "query": query, "texts": texts}, [None, 1], [1, 2, 5])
    assert set(res["reindexed"]) == set(res["decisions"]) == {"all", "1"}
    for r, dec in res["reindexed"].items():
        assert set(dec) == {"1", "2", "5"}
        assert all(res["decisions"][r][k] or not v for k, v in dec.items())
