"""The smoothed ranker's fast scorers equal the base rankers on materialised copies; seeded, prefix-consistent."""

from __future__ import annotations

import numpy as np
import pytest

from irrobust.certify.smoothing import (
    KNRMSampleScorer,
    LuceneSampleScorer,
    SmoothedRanker,
    Squash,
    TextSampleScorer,
    draw_indices,
)


class _Lucene:
    def __init__(self, scorer):
        self.scorer = scorer

    def score(self, query, texts):
        return self.scorer.score_texts(query, texts)


def _compare(fast, base, sets, query, texts, n=12):
    a = SmoothedRanker(fast, sets, n_samples=n, seed=3).sample_scores(query, texts)
    b = SmoothedRanker(base, sets, n_samples=n, seed=3).sample_scores(query, texts)
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b, strict=True))


def test_lucene_fast_path_is_exact(sets, lists, lucene):
    qid, query, _, texts, _ = lists[0]
    sq = Squash("logistic", 5.0, 2.0)
    assert (
        _compare(LuceneSampleScorer(lucene, sq), TextSampleScorer(_Lucene(lucene), sq), sets, query, texts[:5]) < 1e-6
    )
    raw = LuceneSampleScorer(lucene, sq).raw_samples  # unperturbed copy equals Lucene's score of the text
    sm = SmoothedRanker(LuceneSampleScorer(lucene, sq), sets, n_samples=4, seed=0)
    d = sm.prepare(texts[0])
    from irrobust.certify.smoothing import sample_strings

    sids = sample_strings(d, np.zeros((1, len(d.sizes)), dtype=np.int64))
    text = " ".join(sm.pool.strings[i] for i in sids[0])
    assert raw(query, sm.pool, [sids])[0][0] == pytest.approx(float(lucene.score_texts(query, [text])[0]), abs=1e-5)


def test_knrm_fast_path_is_exact(sets, lists, knrm):
    _, query, _, texts, _ = lists[1]
    assert _compare(KNRMSampleScorer(knrm), TextSampleScorer(knrm, Squash("tanh")), sets, query, texts[:4]) < 1e-5


def test_knrm_fast_path_truncation(sets, knrm):
    # a long real-vocabulary text: word pieces beyond the model's document length are cut exactly
    words = [w for w in sets.words if len(sets.smoothing_set(w)) > 1][:400]
    text = " ".join(words)
    assert (
        _compare(KNRMSampleScorer(knrm), TextSampleScorer(knrm, Squash("tanh")), sets, "protein binding", [text]) < 1e-5
    )


def test_seeded_and_prefix_consistent(sets, lists, lucene):
    _, query, _, texts, _ = lists[0]
    sm = SmoothedRanker(LuceneSampleScorer(lucene, Squash("logistic", 5.0, 2.0)), sets, n_samples=40, seed=1)
    full = sm.sample_scores(query, texts[:3], 0, 40)
    part = sm.sample_scores(query, texts[:3], 25, 40)
    for f, p in zip(full, part, strict=True):
        if len(f) > 1:
            assert np.array_equal(f[25:], p)
    d = sm.prepare(texts[0])
    assert np.array_equal(draw_indices(d, 1, 0, 70)[33:61], draw_indices(d, 1, 33, 61))
    other = SmoothedRanker(sm.scorer, sets, n_samples=40, seed=2).sample_scores(query, texts[:1])
    assert not np.array_equal(other[0], full[0])
    g = sm.score(query, list(reversed(texts[:3])))  # order-independent
    assert np.allclose(g[::-1], [f.mean() for f in full])


def test_squash_fit_is_monotone():
    raw = np.random.default_rng(0).normal(10, 3, 500)
    sq = Squash.fit(raw)
    x = np.linspace(-10, 30, 50)
    y = sq(x)
    assert (np.diff(y) >= 0).all() and y.min() >= 0 and y.max() <= 1
    assert sq(np.array([np.median(raw)]))[0] == pytest.approx(0.5)
