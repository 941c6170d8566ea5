"""The exact BM25 certificate: exhaustive search over substitutions on short real documents never beats it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from irrobust.certify.exact_bm25 import apply_changes, certify_exact, max_score_under_attack
from irrobust.certify.perturb import split_token


def _exhaustive(lucene, sets, query, text, budget):
    toks = text.split()
    subs = [(i, sets.synonyms(split_token(t)[1])) for i, t in enumerate(toks)]
    subs = [(i, s) for i, s in subs if s]
    cands = [text]
    for r in range(1, (len(subs) if budget is None else budget) + 1):
        for combo in itertools.combinations(subs, r):
            for choice in itertools.product(*[s for _, s in combo]):
                tt = list(toks)
                for (i, _), w in zip(combo, choice, strict=True):
                    tt[i] = sets.token_text(tt[i], sets.word_id(w))
                cands.append(" ".join(tt))
    return float(lucene.score_texts(query, cands).max()), len(cands)


def _n_attacks(sets, text):
    n = 1
    for t in text.split():
        n *= 1 + len(sets.synonyms(split_token(t)[1]))
    return n


@pytest.fixture(scope="module")
def windows(sets, lists, lucene):
    """9-word windows of the real candidate documents where an attack does something: the exact bound at R = all
    gains, either through query-term frequencies (same analysed length) or by changing the analysed length
    (a word replaced by a stop word), or both; small enough to enumerate every substitution."""
    tf_gain, length, both = [], [], []
    for _, query, _, texts, _ in lists:
        for text in texts:
            toks = text.split()
            if len(tf_gain) >= 8 and len(length) >= 8 and len(both) >= 2:
                break  # enough of each kind
            for start in range(0, max(len(toks) - 9, 1), 3):
                short = " ".join(toks[start : start + 9])
                if _n_attacks(sets, short) > 20_000:
                    continue
                bound = max_score_under_attack(lucene, sets, query, short, budget=None)
                if bound.gain <= 1e-6:
                    continue
                witness = apply_changes(sets, short, bound.changed)
                changed_len = len(lucene.stats.analyze(witness)) != len(lucene.stats.analyze(short))
                if changed_len and len(bound.changed) >= 2 and bound.gain > 0.1:
                    both.append((query, short))
                elif changed_len:
                    length.append((query, short))
                elif bound.gain > 0.1:
                    tf_gain.append((query, short))
    return {"tf": tf_gain[:: max(len(tf_gain) // 4, 1)][:4], "length": length[:: max(len(length) // 4, 1)][:4],
            "both": both[:2]}  # fmt: skip


@pytest.mark.parametrize("budget", [1, 2, None])
def test_exhaustive_search_attains_the_exact_bound(sets, lucene, windows, budget):
    # the windows must exercise real gains: term-frequency gains, length changes, and both at once
    assert len(windows["tf"]) >= 3 and len(windows["length"]) >= 3 and windows["both"]
    for kind, items in windows.items():
        for query, short in items:
            bound = max_score_under_attack(lucene, sets, query, short, budget=budget)
            best, n = _exhaustive(lucene, sets, query, short, budget)
            assert best <= bound.score + 1e-5, (kind, short)  # the bound is an upper bound
            assert bound.exact and best == pytest.approx(bound.score, abs=1e-5), (kind, short)  # and attained
            witness = apply_changes(sets, short, bound.changed)
            assert float(lucene.score_texts(query, [witness])[0]) == pytest.approx(bound.score, abs=1e-5)
            assert len(bound.changed) <= (budget if budget is not None else len(short.split()))
            if kind != "both" or budget is None:
                assert bound.gain > 1e-6, (kind, short, budget)  # one substitution already gains here
            if kind == "length" and budget is None:
                assert len(lucene.stats.analyze(witness)) < len(lucene.stats.analyze(short))
    # the two-substitution windows: the budget matters (R = 1 reaches less than R = all)
    for query, short in windows["both"]:
        one = max_score_under_attack(lucene, sets, query, short, budget=1)
        full = max_score_under_attack(lucene, sets, query, short, budget=None)
        assert one.score < full.score - 1e-6


def test_full_documents_and_certificate(sets, lists, lucene):
    _, query, _, texts, scores = lists[0]
    clean = lucene.score_texts(query, texts).astype(float)
    best0 = np.array([max_score_under_attack(lucene, sets, query, t, budget=0).score for t in texts])
    assert np.allclose(best0, clean)  # no budget, no gain
    best = np.array([max_score_under_attack(lucene, sets, query, t, budget=3).score for t in texts])
    assert (best >= clean - 1e-6).all()
    cert = certify_exact(clean, best, ks=[1, 5, 10])
    cert0 = certify_exact(clean, best0, ks=[1, 5, 10])
    assert all(cert0[k] or not cert[k] for k in cert)  # a larger budget never certifies more
