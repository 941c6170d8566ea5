"""Exact-BM25 certificates that stay sound when the attacked collection is re-indexed (df, avgdl and N change).

:mod:`irrobust.certify.exact_bm25` certifies under a *frozen* index: the attacked document is scored with the
unattacked collection's N, document frequencies df and average length avgdl. If the collection is re-indexed
after the attack, the edit changes those statistics and so the scores of every document of the list:

* a query term the attacked document gains (loses) raises (lowers) its df by 1 — lowering (raising) the idf of
  that term for *every* document, the top K included;
* its length change Δlen moves avgdl to (sum_ttf + Δlen) / N′, which moves every document's length norm;
* N′ = N − 1 if the document loses all its tokens; a query term absent from the index (df = 0) that the
  attack adds gets df′ = 1 and the largest idf.

Sound bounds under all of this, for one attacked document of the list with at most R substitutions:

* **lower bound of every top-K document** (not attacked: its tf and length are fixed): BM25 decreases with df and
  increases with avgdl and N, so it is scored with df + 1, N − 1 and the smallest reachable avgdl;
* **upper bound of every document below K**, the larger of (a) as the attacked document: the exact best score of
  :func:`~irrobust.certify.exact_bm25.max_score_under_attack` scored with df′ = max(df, 1) (a term the attacked
  document holds after the edit had df ≥ its old df: it either kept the term or added itself to its postings),
  N and the largest reachable avgdl; (b) not attacked (another document was): df − 1 (at least 1), N and the
  largest avgdl;
* the reachable avgdl range is (sum_ttf + Δ) / N′ over N′ ∈ {N − 1, N} and Δ between the most negative and the
  most positive total length change any single document of the list can make with R substitutions.

Certified at K iff the smallest lower bound of the top K (ranked by the clean, frozen scores) is strictly above
the largest upper bound below K. This implies the frozen certificate's condition, so it certifies at most what
:func:`~irrobust.certify.exact_bm25.certify_exact` does. Documents outside the candidate list are still not
attacked (as in CertDR).

Example:
    >>> cert = certify_reindexed(scorer, sets, "vitamin d", texts, budget=1, ks=[1, 5])   # doctest: +SKIP
    >>> cert.decisions                                                                    # doctest: +SKIP
    {1: True, 5: False}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from irrobust.certify.exact_bm25 import max_score_under_attack
from irrobust.certify.perturb import PerturbationSets, split_token
from irrobust.errors import ConfigError


class _StatsView:
    """A :class:`~irrobust.rankers.lucene_scoring.LuceneStats` whose document frequencies are replaced."""

    def __init__(self, stats: Any, df: Callable[[str], int]) -> None:
        self._stats, self._df = stats, df

    def df(self, term: str) -> int:
        return int(self._df(term))

    def analyze(self, text: str) -> list[str]:
        return self._stats.analyze(text)

    def analyze_many(self, texts: Sequence[str]) -> list[tuple[str, ...]]:
        return self._stats.analyze_many(texts)


class _BoundScorer:
    """BM25 with given df, N and avgdl, for :func:`max_score_under_attack` (which only needs these members)."""

    def __init__(self, base: Any, df: Callable[[str], int], n_docs: int, avgdl: float) -> None:
        self._base = base
        self.stats = _StatsView(base.stats, df)
        self._shim = SimpleNamespace(N=int(n_docs), avgdl_f32=np.float32(avgdl))

    def resolve(self, model: str | None, params: dict[str, Any]) -> dict[str, Any]:
        return self._base.resolve(model, params)

    def score_counts(self, query: str, tf: np.ndarray, norms: np.ndarray, terms: list[str], boosts: np.ndarray,
                     p: dict[str, Any]) -> np.ndarray:  # fmt: skip
        from irrobust.rankers.lucene_scoring import bm25_scores

        if tf.shape[1] == 0:
            return np.zeros(tf.shape[0], dtype=np.float32)
        df = np.array([self.stats.df(t) for t in terms], dtype=np.int64)
        return bm25_scores(tf, norms, df, boosts, self._shim, k1=p["k1"], b=p["b"])  # type: ignore[arg-type]


def length_range(stats: Any, sets: PerturbationSets, text: str, budget: int | None) -> tuple[int, int, int]:
    """(analysed length, most negative, most positive total length change) with at most ``budget`` substitutions.

    Example:
        >>> length_range(stats, sets, "the tumour grew", budget=1)   # doctest: +SKIP
        (2, -1, 0)
    """
    toks = text.split()
    alts = [[sets.token_text(t, sets.word_id(s)) for s in sets.synonyms(split_token(t)[1])] for t in toks]
    keys = list(dict.fromkeys(toks + [a for al in alts for a in al]))
    lens = {k: len(a) for k, a in zip(keys, stats.analyze_many(keys), strict=True)}
    base = sum(lens[t] for t in toks)
    dec = sorted(min(lens[a] for a in al) - lens[t] for t, al in zip(toks, alts, strict=True) if al)
    inc = sorted((max(lens[a] for a in al) - lens[t] for t, al in zip(toks, alts, strict=True) if al), reverse=True)
    r = len(toks) if budget is None else int(budget)
    return base, int(sum(d for d in dec[:r] if d < 0)), int(sum(i for i in inc[:r] if i > 0))


def _plain_scores(scorer: Any, query: str, texts: Sequence[str], df: Callable[[str], int], n_docs: int,
                  avgdl: float) -> np.ndarray:  # fmt: skip
    """BM25 of unattacked ``texts`` with the given df, N and avgdl."""
    from irrobust.rankers.lucene_scoring import encode_lengths, query_terms

    terms, boosts = query_terms(scorer.stats, query)
    col = {t: j for j, t in enumerate(terms)}
    tf = np.zeros((len(texts), len(terms)), dtype=np.int64)
    lengths = np.zeros(len(texts), dtype=np.int64)
    for i, toks in enumerate(scorer.stats.analyze_many(list(texts))):
        lengths[i] = len(toks)
        for t in toks:
            j = col.get(t)
            if j is not None:
                tf[i, j] += 1
    bs = _BoundScorer(scorer, df, n_docs, avgdl)
    return bs.score_counts(query, tf, encode_lengths(lengths), terms, boosts, scorer.resolve("bm25", {}))


@dataclass(frozen=True)
class ReindexedCertificate:
    """Result of :func:`certify_reindexed`.

    Attributes:
        decisions: K → certified; clean: frozen scores (the ranking); lower: lower bounds (meaningful for the top
        K); upper: upper bounds (attacked or not); avgdl: the reachable avgdl range; relaxed: documents whose attack
        bound needed the sound relaxation.

    Example:
        >>> ReindexedCertificate({1: True}, np.ones(2), np.ones(2), np.zeros(2), (1.0, 2.0), 0).decisions
        {1: True}
    """

    decisions: dict[int, bool]
    clean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    avgdl: tuple[float, float]
    relaxed: int


def certify_reindexed(scorer: Any, sets: PerturbationSets, query: str, texts: Sequence[str], budget: int | None,
                      ks: Sequence[int], max_states: int = 3_000) -> ReindexedCertificate:  # fmt: skip
    """Top-K certificates of a BM25 list that hold after re-indexing the attacked collection (module docstring).

    ``scorer`` is a :class:`~irrobust.rankers.lucene_scoring.LuceneScorer` (BM25); ``texts`` the list's documents.

    Example:
        >>> certify_reindexed(scorer, sets, "vitamin d", texts, budget=1, ks=[1]).decisions   # doctest: +SKIP
        {1: True}
    """
    if budget is not None and budget < 0:
        raise ConfigError(f"the budget R must be >= 0, got {budget}", where="certify.budget")
    stats = scorer.stats
    ranges = [length_range(stats, sets, t, budget) for t in texts]
    d_min = min((lo for _, lo, _ in ranges), default=0)
    d_max = max((hi for _, _, hi in ranges), default=0)
    can_empty = any(base + lo <= 0 < base for base, lo, _ in ranges)
    n_hi = int(stats.N)
    n_lo = n_hi - 1 if can_empty else n_hi
    avgdl_lo = (stats.sum_ttf + d_min) / n_hi
    avgdl_hi = (stats.sum_ttf + d_max) / max(n_lo, 1)
    df0: dict[str, int] = {}

    def base_df(t: str) -> int:
        if t not in df0:
            df0[t] = int(stats.df(t))
        return df0[t]

    clean = np.asarray(scorer.score_texts(query, list(texts)), dtype=np.float64)
    lower = np.asarray(_plain_scores(scorer, query, texts, lambda t: base_df(t) + 1 if base_df(t) > 0 else 0, n_lo,
                                     avgdl_lo), dtype=np.float64)  # fmt: skip
    upper_plain = np.asarray(_plain_scores(scorer, query, texts, lambda t: max(base_df(t) - 1, 1), n_hi, avgdl_hi),
                             dtype=np.float64)  # fmt: skip
    attacker = _BoundScorer(scorer, lambda t: max(base_df(t), 1), n_hi, avgdl_hi)
    upper = np.empty(len(texts), dtype=np.float64)
    relaxed = 0
    for i, text in enumerate(texts):
        best = max_score_under_attack(attacker, sets, query, text, budget=budget, max_states=max_states)
        relaxed += not best.exact
        upper[i] = max(best.score, upper_plain[i])
    o = np.argsort(-clean, kind="stable")
    lo_s, hi_s = lower[o], upper[o]
    hi_acc = np.maximum.accumulate(hi_s[::-1])[::-1]
    lo_acc = np.minimum.accumulate(lo_s)
    decisions = {int(k): bool(lo_acc[k - 1] > hi_acc[k]) for k in ks if k < len(texts)}
    return ReindexedCertificate(decisions, clean, lower, upper, (float(avgdl_lo), float(avgdl_hi)), relaxed)


__all__ = ["ReindexedCertificate", "certify_reindexed", "length_range"]
