"""Robustness statistics over per-query values (the "Are Neural Ranking Models Robust?" toolkit).

Wu, Zhang, Guo, Fan & Cheng (TOIS 2022) judge robustness by worst-case and abnormal behaviour rather
than by the mean: the spread of a per-query metric, the mean of the worst queries, the relative drop from
clean to shifted queries, paired significance tests (with Holm's correction over many comparisons),
and rank correlation between a list before and after a perturbation. These are plain functions over
numbers; the per-query tables come from the evaluation layer.

Per-query inputs are "values": a 1-D sequence / numpy array, a ``pandas.Series`` indexed by qid, a
``{qid: value}`` mapping, or a DataFrame with ``qid`` and ``value`` columns (the long results table,
filtered to one measure). Paired functions align their two inputs on qid when both carry qids.

Example:
    >>> import pandas as pd
    >>> clean = pd.Series({"q1": 0.8, "q2": 0.4}); shifted = pd.Series({"q2": 0.2, "q1": 0.6})
    >>> round(relative_drop(clean, shifted), 4)
    0.3333
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from irrobust.errors import IrrobustError
from irrobust.evaluate import significance

Values = Sequence[float] | np.ndarray | pd.Series | Mapping[Any, float] | pd.DataFrame


def _as_series(values: Values, what: str = "values") -> pd.Series:
    """Coerce per-query values to a float Series (index = qid when known, else 0..n-1)."""
    if isinstance(values, pd.DataFrame):
        missing = {"qid", "value"} - set(values.columns)
        if missing:
            raise IrrobustError(
                f"a per-query table needs columns qid and value; it lacks {sorted(missing)}", where=what
            )
        s = pd.Series(values["value"].to_numpy(), index=values["qid"].to_numpy())
    elif isinstance(values, pd.Series):
        s = values
    elif isinstance(values, Mapping):
        s = pd.Series(dict(values), dtype="float64")
    else:
        arr = np.asarray(values, dtype="float64")
        if arr.ndim != 1:
            raise IrrobustError(f"expected a 1-D list of per-query values, got shape {arr.shape}", where=what)
        s = pd.Series(arr)
    try:
        s = s.astype("float64")
    except (TypeError, ValueError):
        raise IrrobustError("per-query values must be numbers", where=what) from None
    if s.index.has_duplicates:
        dup = s.index[s.index.duplicated()].unique().tolist()[:5]
        raise IrrobustError(f"duplicate qids {dup}: pass one value per query", where=what)
    if s.isna().any():
        raise IrrobustError(f"{int(s.isna().sum())} per-query values are missing (NaN)", where=what)
    return s


def _as_array(values: Values, what: str = "values", min_n: int = 1) -> np.ndarray:
    arr = _as_series(values, what).to_numpy()
    if len(arr) < min_n:
        raise IrrobustError(f"need at least {min_n} per-query value(s), got {len(arr)}", where=what)
    return arr


def _has_qids(values: Values) -> bool:
    return isinstance(values, (pd.Series, pd.DataFrame, Mapping))


def paired(a: Values, b: Values, strict: bool = True) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Align two per-query inputs on qid; returns (a values, b values, qids) in sorted qid order.

    Plain sequences are paired by position (they must have equal length). With ``strict`` the two
    qid sets must be equal; otherwise the common qids are used.

    Example:
        >>> paired({"q2": 2.0, "q1": 1.0}, {"q1": 10.0, "q2": 20.0})[0].tolist()
        [1.0, 2.0]
    """
    sa, sb = _as_series(a, "a"), _as_series(b, "b")
    if not (_has_qids(a) and _has_qids(b)):
        if len(sa) != len(sb):
            raise IrrobustError(f"paired values must have equal length, got {len(sa)} and {len(sb)}")
        return sa.to_numpy(), sb.to_numpy(), list(range(len(sa)))
    only_a, only_b = sa.index.difference(sb.index), sb.index.difference(sa.index)
    if strict and (len(only_a) or len(only_b)):
        raise IrrobustError(
            f"the two runs cover different queries ({len(only_a)} only in the first, e.g. {only_a[:3].tolist()}; "
            f"{len(only_b)} only in the second, e.g. {only_b[:3].tolist()}); pass strict=False to use the common ones"
        )
    common = sorted(sa.index.intersection(sb.index), key=str)
    if not common:
        raise IrrobustError("the two runs have no query in common")
    return sa.loc[common].to_numpy(), sb.loc[common].to_numpy(), common


def per_query_variance(values: Values, ddof: int = 1) -> float:
    """Variance of a per-query metric (sample variance, ``ddof=1``, by default).

    Example:
        >>> per_query_variance([1.0, 2.0, 3.0, 4.0])
        1.6666666666666667
    """
    arr = _as_array(values, min_n=ddof + 1)
    return float(np.var(arr, ddof=ddof))


def per_query_std(values: Values, ddof: int = 1) -> float:
    """Standard deviation of a per-query metric (sample std, ``ddof=1``, by default).

    Example:
        >>> per_query_std([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], ddof=0)
        2.0
    """
    arr = _as_array(values, min_n=ddof + 1)
    return float(np.std(arr, ddof=ddof))


def worst_fraction_mean(values: Values, frac: float = 0.1, higher_is_better: bool = True) -> float:
    """Mean of the worst ``frac`` of the queries: the ``ceil(frac · n)`` lowest values (at least one).

    With ``higher_is_better=False`` (e.g. a rank or a loss) the highest values are the worst.

    Example:
        >>> worst_fraction_mean([0.1, 0.9, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 1.0], frac=0.2)
        0.15000000000000002
        >>> worst_fraction_mean([1, 2, 3, 4], frac=0.25, higher_is_better=False)
        4.0
    """
    if not 0.0 < frac <= 1.0:
        raise IrrobustError(f"frac must be in (0, 1], got {frac!r}")
    arr = np.sort(_as_array(values))
    if not higher_is_better:
        arr = arr[::-1]
    k = max(1, math.ceil(frac * len(arr) - 1e-9))
    return float(arr[:k].mean())


@dataclass(frozen=True)
class ConfidenceInterval:
    """A point estimate with a ``(1 - alpha)`` confidence interval.

    Example:
        >>> ConfidenceInterval(0.5, 0.4, 0.6, 0.05).width
        0.19999999999999996
    """

    mean: float
    low: float
    high: float
    alpha: float

    @property
    def width(self) -> float:
        """``high - low``.

        Example:
            >>> ConfidenceInterval(1.0, 0.0, 2.0, 0.05).width
            2.0
        """
        return self.high - self.low


def bootstrap_ci(values: Values, n: int = 10000, alpha: float = 0.05, seed: int = 0) -> ConfidenceInterval:
    """Percentile bootstrap confidence interval of the mean (Efron & Tibshirani 1993, ch. 13).

    Draws ``n`` resamples of the queries with replacement (numpy ``default_rng(seed)``), and returns the
    ``alpha/2`` and ``1 - alpha/2`` quantiles (linear interpolation) of the resampled means.

    Example:
        >>> ci = bootstrap_ci([0.2, 0.4, 0.6, 0.8], n=2000, seed=1)
        >>> round(ci.mean, 2), 0.2 <= ci.low < ci.mean < ci.high <= 0.8
        (0.5, True)
        >>> bootstrap_ci([3.0, 3.0], n=100).low
        3.0
    """
    arr = _as_array(values)
    if not isinstance(n, int) or n < 1:
        raise IrrobustError(f"n (bootstrap resamples) must be a positive integer, got {n!r}")
    if not 0.0 < alpha < 1.0:
        raise IrrobustError(f"alpha must be in (0, 1), got {alpha!r}")
    rng = np.random.default_rng(seed)
    m = len(arr)
    means = np.empty(n, dtype="float64")
    chunk = max(1, 2_000_000 // m)  # bound memory at ~16 MB of indices per chunk
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        idx = rng.integers(0, m, size=(size, m))
        means[start : start + size] = arr[idx].mean(axis=1)
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return ConfidenceInterval(float(arr.mean()), float(low), float(high), alpha)


def relative_drop(clean: Values, shifted: Values, per_query: bool = False, strict: bool = True) -> Any:
    """Relative drop ``(M_clean - M_shifted) / M_clean`` of the mean metric, paired by qid.

    Positive means the shift hurt. With ``per_query=True`` returns a Series (index = qid) of
    ``(clean_q - shifted_q) / clean_q``, NaN where ``clean_q == 0``.

    Raises:
        IrrobustError: the clean mean is 0 (the drop is undefined), or the qid sets differ under ``strict``.

    Example:
        >>> relative_drop({"a": 0.5, "b": 1.0}, {"a": 0.25, "b": 1.0})
        0.16666666666666666
        >>> relative_drop({"a": 0.5, "b": 0.0}, {"a": 0.25, "b": 0.5}, per_query=True).tolist()
        [0.5, nan]
    """
    c, s, qids = paired(clean, shifted, strict=strict)
    if per_query:
        with np.errstate(divide="ignore", invalid="ignore"):
            drops = np.where(c != 0, (c - s) / np.where(c != 0, c, 1.0), np.nan)
        return pd.Series(drops, index=qids, name="relative_drop")
    base = c.mean()
    if base == 0:
        raise IrrobustError("the clean mean is 0, so the relative drop is undefined")
    return float((base - s.mean()) / base)


@dataclass(frozen=True)
class PairedTest:
    """Result of a paired significance test.

    Example:
        >>> PairedTest("t", 2.0, 0.04, 30).significant()
        True
    """

    test: str
    statistic: float
    pvalue: float
    n: int

    def significant(self, alpha: float = 0.05) -> bool:
        """``pvalue < alpha``.

        Example:
            >>> PairedTest("wilcoxon", 10.0, 0.2, 12).significant()
            False
        """
        return self.pvalue < alpha


def paired_test(a: Values, b: Values, test: str = "t", strict: bool = True) -> PairedTest:
    """Two-sided paired test of ``a`` vs ``b`` per query: Student's paired t-test or Wilcoxon signed-rank.

    Uses ``scipy.stats.ttest_rel`` / ``scipy.stats.wilcoxon`` (zero differences dropped, scipy's default).
    When every difference is zero (|d| ≤ 1e-12) there is no evidence of a difference: statistic 0, p-value 1; a constant
    non-zero difference (equal up to floating-point error) gives the t-test statistic ±inf and p-value 0 (scipy would return NaN).
    :mod:`irrobust.evaluate.significance` offers the same tests on plain vectors plus a randomisation test.

    Example:
        >>> r = paired_test([0.1, 0.2, 0.3, 0.4], [0.2, 0.25, 0.45, 0.5])
        >>> r.test, round(r.statistic, 4), round(r.pvalue, 4)
        ('t', -4.899, 0.0163)
    """
    if test not in ("t", "wilcoxon"):
        raise IrrobustError(f"unknown paired test {test!r}; allowed: t, wilcoxon")
    x, y, _ = paired(a, b, strict=strict)
    if len(x) < 2:
        raise IrrobustError(f"a paired test needs at least 2 queries, got {len(x)}")
    statistic, pvalue = significance.paired_test(x, y, test)
    return PairedTest(test, statistic, pvalue, len(x))


def holm(pvalues: Sequence[float] | np.ndarray | pd.Series) -> Any:
    """Holm–Bonferroni adjusted p-values (Holm 1979), in the input order (a Series keeps its index).

    Sort ascending; the i-th smallest (1-based) becomes ``max_{j ≤ i} min(1, (m - j + 1) · p_(j))``.
    Rejecting where the adjusted p-value is below alpha controls the family-wise error rate.

    Example:
        >>> holm([0.01, 0.04, 0.03, 0.005]).tolist()
        [0.03, 0.06, 0.06, 0.02]
    """
    out = np.asarray(significance.holm(np.asarray(pvalues, dtype="float64")))
    if isinstance(pvalues, pd.Series):
        return pd.Series(out, index=pvalues.index, name=pvalues.name)
    return out


def kendall_tau_between_rankings(a: Sequence[Any], b: Sequence[Any], union: bool = False) -> float:
    """Kendall's τ-b between two ranked lists of document ids (best first).

    By default only documents in both lists count. With ``union=True`` a document missing from a
    list is placed after all of that list's documents (tied with the other missing ones), so
    documents that fell out of the list lower the correlation. NaN when fewer than 2 documents are
    compared or one list ranks them all equally.

    Example:
        >>> kendall_tau_between_rankings(["d1", "d2", "d3"], ["d1", "d2", "d3"])
        1.0
        >>> kendall_tau_between_rankings(["d1", "d2", "d3"], ["d3", "d2", "d1"])
        -1.0
        >>> round(kendall_tau_between_rankings(["d1", "d2", "d3", "d4"], ["d2", "d1", "d3", "d4"]), 4)
        0.6667
    """
    for name, lst in (("a", a), ("b", b)):
        if len(set(lst)) != len(lst):
            raise IrrobustError(f"ranking {name} lists a document twice")
    pos_a = {d: i for i, d in enumerate(a)}
    pos_b = {d: i for i, d in enumerate(b)}
    docs = list(dict.fromkeys([*a, *b])) if union else [d for d in a if d in pos_b]
    if len(docs) < 2:
        return float("nan")
    ra = [pos_a.get(d, len(a)) for d in docs]
    rb = [pos_b.get(d, len(b)) for d in docs]
    if len(set(ra)) < 2 or len(set(rb)) < 2:
        return float("nan")
    return float(stats.kendalltau(ra, rb).statistic)


def kendall_tau_per_query(
    before: pd.DataFrame, after: pd.DataFrame, k: int | None = None, union: bool = False
) -> pd.Series:
    """Kendall's τ per qid between two results tables (``qid, docno, rank``), optionally on the top ``k``.

    Example:
        >>> import pandas as pd
        >>> r1 = pd.DataFrame({"qid": ["1"] * 3, "docno": ["a", "b", "c"], "rank": [1, 2, 3]})
        >>> r2 = pd.DataFrame({"qid": ["1"] * 3, "docno": ["b", "a", "c"], "rank": [1, 2, 3]})
        >>> kendall_tau_per_query(r1, r2).round(4).to_dict()
        {'1': 0.3333}
    """
    for name, t in (("before", before), ("after", after)):
        missing = {"qid", "docno", "rank"} - set(t.columns)
        if missing:
            raise IrrobustError(f"a results table needs qid, docno, rank; it lacks {sorted(missing)}", where=name)

    def lists(t: pd.DataFrame) -> dict[Any, list[Any]]:
        t = t.sort_values(["qid", "rank"], kind="mergesort")
        if k is not None:
            t = t[t["rank"] <= k]
        return {q: g["docno"].tolist() for q, g in t.groupby("qid", sort=True)}

    la, lb = lists(before), lists(after)
    qids = sorted(set(la) & set(lb), key=str)
    return pd.Series(
        [kendall_tau_between_rankings(la[q], lb[q], union=union) for q in qids], index=qids, name="kendall_tau"
    )
