"""CertDR certificates of top-K robustness and CRQ@K, with the paper's rule and tighter sound variants.

Reimplements §1.4 of CertDR (Wu et al., CIKM 2022; ``../shared/reference/papers.md``). For a query with
candidate list L ranked by ĝ, the ranker is certified top-K robust when no document below rank K can be
pushed into the top K by substituting words within their synonym sets (the attacker edits one document).
Since f ∈ [0, 1], |g(q, d) − g(q, d′)| ≤ TV(Π_d, Π_d′) ≤ δ_d for every allowed d′.

Rules (``rule``):

* ``"paper"`` — the paper's: Δ_K = ĝ(d_K) − ĝ(d_{K+1}) − max_{d > K} δ_d − 2·√(ln(2/α) / 2N) > 0
  (Hoeffding margin; as in the authors' ``crq_evaluate.py`` with ``--consider_mc_error``).
* ``"max"`` — ours, tighter in the δ term and sound for the whole list at once:
  min_{i ≤ K} (ĝ_i − ε_i) > max_{j > K} (ĝ_j + ε_j + δ_j), where ε are one-sided confidence margins at level
  α / (2|L|) per document and side (Bonferroni over the list, so with probability ≥ 1 − α every certified K
  of the query is correct simultaneously). Documents whose ĝ is exact (no random token) get ε = 0.
  ``bound`` chooses ε: ``"hoeffding"`` √(ln(1/a) / 2n), or ``"bernstein"`` — the smaller of the empirical
  Bernstein bound of Maurer & Pontil (COLT 2009, Thm 4), √(2 V ln(2/a′) / n) + 7 ln(2/a′) / (3(n − 1)) with V
  the sample variance, and the Hoeffding bound, **each at a′ = a/2**: the minimum of two bounds fails when either
  fails, so by the union bound it holds at 1 − a only if the two levels sum to a (the minimum of both at a,
  as before :data:`CERTIFICATE_VERSION` 2, was valid at 1 − 2a only). Bernstein alone is useless at small n
  (its 7 ln/(3(n − 1)) term exceeds 1 for n ≲ 40 at the levels used here), Hoeffding alone ignores the variance,
  so both are kept and the level is split evenly (fixed before seeing the data).

What each rule certifies (with probability ≥ 1 − α over the sampling):

* ``"max"``: for every K of the grid at once, no document of the list ranked below K can be moved above any of
  the top K by an allowed substitution — the Monte Carlo error of **every** document of the list is bounded.
* ``"paper"``: only the Monte Carlo error of the **compared pair** (d_K, d_{K+1}) is bounded (the paper's
  margin); the other documents below K enter with their estimates ĝ, so an unlucky underestimate of some
  d_j, j > K + 1, is not covered, and the levels of different K are not combined. It is a reproduction of the
  paper's criterion, not a certificate of the list at level α.

Deviations: the paper's rule takes one Hoeffding margin per compared pair and no correction for the many
documents of the list; it is reproduced as is for comparison, except that a compared document whose ĝ is exact
(no random word) contributes no Monte Carlo term (the paper has no exact documents: its margin 2·√(ln(2/α)/2N)
is one deviation per compared document; with both exact the margin is 0). The K grid here is 1–10, 20, 50 (the code's
is 1–10, 20, …, 90). CRQ@K is the mean of the per-query 0/1 decisions (the code builds but never averages it).

Example:
    >>> g = np.array([0.9, 0.5, 0.2]); d = np.array([0.1, 0.1, 0.1])
    >>> certify_query(g, d, n=np.array([1000] * 3), var=np.zeros(3), ks=[1, 2], rule="paper")
    {1: True, 2: True}
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from irrobust.errors import ConfigError

RULES = ("paper", "max")
BOUNDS = ("hoeffding", "bernstein")
#: the K grid of the CRQ tables
K_GRID = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 50)
#: version of the certificate computation, part of every checkpoint key (2: Bernstein and Hoeffding each at a/2;
#: the paper rule's Monte Carlo term counts only sampled documents of the compared pair)
CERTIFICATE_VERSION = 2


def hoeffding_margin(n: np.ndarray | int, a: float | np.ndarray) -> np.ndarray:
    """One-sided Hoeffding margin √(ln(1/a) / 2n) for the mean of n variables in [0, 1] at level a (scalar or per value).

    Example:
        >>> round(float(hoeffding_margin(1000, 0.025)), 4)
        0.0429
    """
    n = np.asarray(n, dtype=np.float64)
    return np.sqrt(np.log(1.0 / np.asarray(a, dtype=np.float64)) / (2.0 * np.maximum(n, 1.0)))


def bernstein_margin(n: np.ndarray | int, var: np.ndarray | float, a: float | np.ndarray) -> np.ndarray:
    """One-sided empirical Bernstein margin (Maurer & Pontil 2009, Thm 4) at level a; ∞ for n < 2.

    ``var`` is the unbiased sample variance of the n values in [0, 1].

    Example:
        >>> round(float(bernstein_margin(1000, 0.0, 0.025)), 4)
        0.0102
    """
    n = np.asarray(n, dtype=np.float64)
    var = np.asarray(var, dtype=np.float64)
    lg = np.log(2.0 / np.asarray(a, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.sqrt(2.0 * np.maximum(var, 0.0) * lg / n) + 7.0 * lg / (3.0 * (n - 1.0))
    return np.where(n >= 2, m, np.inf)


def margins(n: np.ndarray, var: np.ndarray, exact: np.ndarray, a: float | np.ndarray, bound: str) -> np.ndarray:
    """Per-document one-sided margins ε at level ``a`` (scalar or per document; 0 for exact documents).

    For each document, P(mean > ĝ + ε) ≤ a and P(mean < ĝ − ε) ≤ a. ``"bernstein"`` is
    min(Bernstein at a/2, Hoeffding at a/2): valid at a by the union bound over the two bounds.

    Example:
        >>> margins(np.array([100, 1]), np.zeros(2), np.array([False, True]), 0.01, "hoeffding").round(3).tolist()
        [0.152, 0.0]
        >>> float(margins(np.array([100]), np.zeros(1), np.array([False]), 0.01, "bernstein")[0]) == float(
        ...     min(bernstein_margin(100, 0.0, 0.005), hoeffding_margin(100, 0.005)))
        True
    """
    if bound not in BOUNDS:
        raise ConfigError(f"unknown bound {bound!r}; choose one of {list(BOUNDS)}", where="certify.bound")
    if bound == "hoeffding":
        eps = hoeffding_margin(n, a)
    else:  # each bound at a/2: the minimum fails only when one of them does (union bound)
        half = np.asarray(a, dtype=np.float64) / 2.0
        eps = np.minimum(bernstein_margin(n, var, half), hoeffding_margin(n, half))
    return np.where(np.asarray(exact, dtype=bool), 0.0, eps)


def order(g: np.ndarray) -> np.ndarray:
    """Ranking of a list by ĝ (descending; ties keep the list order).

    Example:
        >>> order(np.array([0.1, 0.5, 0.5])).tolist()
        [1, 2, 0]
    """
    return np.argsort(-np.asarray(g, dtype=np.float64), kind="stable")


def _sorted_bounds(
    g: np.ndarray, delta: np.ndarray, n: np.ndarray, var: np.ndarray, bound: str, a: float | np.ndarray,
    exact: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """The list in ĝ order: (order, exact, ĝ, lower bound ĝ − ε, upper bound ĝ + ε + δ) with the per-document
    margins of rule ``"max"`` at level ``a`` / (2|L|) (``a`` scalar or per document)."""
    g = np.asarray(g, dtype=np.float64)
    m = len(g)
    exact = np.zeros(m, dtype=bool) if exact is None else np.asarray(exact, dtype=bool)
    o = order(g)
    gs = g[o]
    levels = np.broadcast_to(np.asarray(a, dtype=np.float64), (m,))[o] / (2.0 * m)
    eps = margins(np.asarray(n)[o], np.asarray(var, dtype=np.float64)[o], exact[o], levels, bound)
    return o, exact[o], gs, gs - eps, gs + eps + np.asarray(delta, dtype=np.float64)[o]


def certify_query(
    g: np.ndarray,
    delta: np.ndarray,
    n: np.ndarray,
    var: np.ndarray,
    ks: Sequence[int] = K_GRID,
    rule: str = "max",
    bound: str = "bernstein",
    alpha: float | np.ndarray = 0.05,
    exact: np.ndarray | None = None,
    n_paper: int | None = None,
) -> dict[int, bool]:
    """Top-K certificate of one query for every K in ``ks`` with ``K < len(g)`` (see the module docstring).

    Args:
        g: ĝ per candidate; delta: δ_d per candidate; n: samples per candidate; var: sample variances.
        rule: ``"paper"`` or ``"max"``; bound: ``"hoeffding"`` / ``"bernstein"`` (rule ``"max"`` only).
        alpha: the failure probability, or one per candidate (adaptive sampling with per-document stopping: the
            level of the round at which each document stopped); exact: candidates whose ĝ is exact.
        n_paper: the N of the paper's Hoeffding margin. Default: per compared pair (d_K, d_{K+1}), the smaller n
            and the smaller level of the two (the paper's margin when every document has N samples at one α).
            The paper's margin 2·√(ln(2/α)/2N) is one deviation per compared document; a document whose ĝ is
            exact contributes none (both exact: no Monte Carlo term at all).

    Example:
        >>> certify_query(np.array([0.9, 0.2]), np.array([0.0, 0.3]), np.array([100, 100]), np.zeros(2), ks=[1])
        {1: True}
    """
    if rule not in RULES:
        raise ConfigError(f"unknown rule {rule!r}; choose one of {list(RULES)}", where="certify.rule")
    a = np.broadcast_to(np.asarray(alpha, dtype=np.float64), np.shape(g))
    if not np.all((a > 0) & (a < 1)):
        raise ConfigError(f"alpha must be in (0, 1), got {alpha}", where="certify.alpha")
    g = np.asarray(g, dtype=np.float64)
    m = len(g)
    exact = np.zeros(m, dtype=bool) if exact is None else np.asarray(exact, dtype=bool)
    o = order(g)
    gs, ds = g[o], np.asarray(delta, dtype=np.float64)[o]
    out: dict[int, bool] = {}
    if rule == "paper":
        no, ao, eo = np.asarray(n)[o], a[o], exact[o]
        for k in ks:
            if k < m:
                pair = [i for i in (k - 1, k) if not eo[i]]  # the compared documents with a Monte Carlo error
                mc = 0.0
                if pair:
                    big_n = int(n_paper if n_paper is not None else min(no[i] for i in pair))
                    lvl = float(min(ao[i] for i in pair))
                    mc = len(pair) * math.sqrt(math.log(2.0 / lvl) / (2.0 * max(big_n, 1)))
                out[int(k)] = bool(gs[k - 1] - gs[k] - ds[k:].max() - mc > 0)
        return out
    _, _, _, lo, hi = _sorted_bounds(g, delta, n, var, bound, a, exact)
    lower = np.minimum.accumulate(lo)  # min over the top i
    upper = np.maximum.accumulate(hi[::-1])[::-1]  # max over ranks >= j
    for k in ks:
        if k < m:
            out[int(k)] = bool(lower[k - 1] > upper[k])
    return out


def settled(
    g: np.ndarray, delta: np.ndarray, n: np.ndarray, var: np.ndarray, ks: Sequence[int], bound: str, a: float,
    exact: np.ndarray | None = None, n_final: int | None = None, z: float = 3.0, a_final: float | None = None,
) -> dict[int, bool]:  # fmt: skip
    """Adaptive sampling's stopping test for rule ``"max"``: is the decision at K already known?

    Settled when certified at level ``a`` now, or when certification looks futile even at the final sample size
    ``n_final``: with every estimate moved ``z`` standard errors in the favourable direction and the margins of
    ``n_final`` samples at the final round's level ``a_final`` (default ``a``), min_{i ≤ K} (ĝ_i − ε_i(n_final) + z·se_i) ≤ max_{j > K} (ĝ_j + ε_j(n_final) + δ_j − z·se_j).
    The futility part is a heuristic: it can only stop sampling for a K that would not have been certified (no
    effect on soundness, which rests on the certificate's own bound at the level of the stopping round).

    Example:
        >>> g, n = np.array([0.9, 0.1]), np.array([100, 100])
        >>> settled(g, np.array([0.0, 0.0]), n, np.zeros(2), [1], "hoeffding", 0.01)   # certified
        {1: True}
        >>> settled(g, np.array([0.0, 0.5]), n, np.zeros(2), [1], "hoeffding", 0.01, n_final=200)   # undecided
        {1: False}
        >>> settled(g, np.array([0.0, 0.95]), n, np.zeros(2), [1], "hoeffding", 0.01, n_final=200)  # futile
        {1: True}
    """
    o, eo, gs, lo, hi = _sorted_bounds(g, delta, n, var, bound, a, exact)
    m = len(gs)
    cert_lo = np.minimum.accumulate(lo)
    cert_hi = np.maximum.accumulate(hi[::-1])[::-1]
    out = {int(k): bool(cert_lo[k - 1] > cert_hi[k]) for k in ks if k < m}
    if n_final is None:
        return out
    ds, no, vo = np.asarray(delta, dtype=np.float64)[o], np.asarray(n)[o], np.asarray(var, dtype=np.float64)[o]
    eps_f = margins(np.where(eo, no, n_final), vo, eo, (a if a_final is None else a_final) / (2.0 * m), bound)
    se = np.where(eo, 0.0, np.sqrt(vo / np.maximum(no, 1)))
    hope_lo = np.minimum.accumulate(gs - eps_f + z * se)
    hope_hi = np.maximum.accumulate((gs + eps_f + ds - z * se)[::-1])[::-1]
    return {k: v or bool(hope_lo[k - 1] <= hope_hi[k]) for k, v in out.items()}


def blocking(
    g: np.ndarray, delta: np.ndarray, n: np.ndarray, var: np.ndarray, ks: Sequence[int], bound: str,
    a: float | np.ndarray, exact: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """Documents whose bound currently blocks a certificate at some K of ``ks`` (rule ``"max"``), as a mask.

    At K, a top-K document blocks when its lower bound ĝ − ε is ≤ the largest upper bound below K, and a document
    below K blocks when its upper bound ĝ + ε + δ is ≥ the smallest lower bound of the top K. Only these
    documents can turn an undecided K into a certified one with more samples, so adaptive sampling draws more
    copies of them only (the others keep their samples and their round's level: still sound).

    Example:
        >>> g, n = np.array([0.9, 0.5, 0.1]), np.array([24, 24, 24])
        >>> blocking(g, np.zeros(3), n, np.full(3, 0.01), [1], "bernstein", 0.05).tolist()
        [True, True, False]
    """
    o, eo, _, lower, upper = _sorted_bounds(g, delta, n, var, bound, a, exact)
    m = len(o)
    hit = np.zeros(m, dtype=bool)
    for k in ks:
        if 0 < k < m:
            hit[:k] |= lower[:k] <= upper[k:].max()
            hit[k:] |= upper[k:] >= lower[:k].min()
    out = np.zeros(m, dtype=bool)
    out[o] = hit & ~eo
    return out


def crq(decisions: Sequence[dict[int, bool]], ks: Sequence[int] = K_GRID) -> dict[int, float]:
    """CRQ@K: the share of queries certified at K (over queries whose list is longer than K).

    Example:
        >>> crq([{1: True, 5: False}, {1: False, 5: False}], ks=[1, 5])
        {1: 0.5, 5: 0.0}
    """
    out = {}
    for k in ks:
        vals = [d[k] for d in decisions if k in d]
        if vals:
            out[int(k)] = float(np.mean(vals))
    return out


__all__ = ["BOUNDS", "CERTIFICATE_VERSION", "K_GRID", "RULES", "bernstein_margin", "blocking", "certify_query", "crq", "hoeffding_margin", "margins",
           "order", "settled"]  # fmt: skip
