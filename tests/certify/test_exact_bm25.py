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


@pytest.mark.parametrize("budget", [1, 2, None])
def test_exhaustive_never_beats_the_exact_bound(sets, lists, lucene, budget):
    checked = 0
    for _, query, _, texts, _ in lists[:2]:
        for text in texts[:4]:
            toks = text.split()
            for start in range(0, max(len(toks) - 9, 1), 60):
                short = " ".join(toks[start : start + 9])
                bound = max_score_under_attack(lucene, sets, query, short, budget=budget)
                best, n = _exhaustive(lucene, sets, query, short, budget)
                assert n < 300_000
                assert best <= bound.score + 1e-5
                assert bound.exact and best == pytest.approx(bound.score, abs=1e-5)  # and it is attained
                witness = apply_changes(sets, short, bound.changed)
                assert float(lucene.score_texts(query, [witness])[0]) == pytest.approx(bound.score, abs=1e-5)
                assert len(bound.changed) <= (budget if budget is not None else len(toks))
                checked += 1
    assert checked >= 8


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
