"""Paired significance tests over per-query values, with multiple-testing correction.

Tests: paired Student t-test (``"t"``), Wilcoxon signed-rank (``"wilcoxon"``), and the two-sided
paired randomisation (permutation) test (``"randomization"``, Smucker, Allan & Carterette, CIKM 2007).
Correction: Holm–Bonferroni (``"holm"``, default), Bonferroni, or none.

Example:
    >>> import numpy as np
    >>> a = np.array([0.5, 0.6, 0.7, 0.8]); b = a - 0.1
    >>> round(paired_test(a, b, "t")[1], 6) < 1e-3
    True
    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from irrobust.errors import IrrobustError

TESTS = ("t", "wilcoxon", "randomization")
CORRECTIONS = ("holm", "bonferroni", "none")
CORRECTION_NAMES = {"holm": "Holm–Bonferroni", "bonferroni": "Bonferroni", "none": "no"}
TEST_NAMES = {
    "t": "two-sided paired Student t-test",
    "wilcoxon": "two-sided Wilcoxon signed-rank test",
    "randomization": "two-sided paired randomisation test (10,000 permutations)",
}


def paired_test(a: Sequence[float], b: Sequence[float], test: str = "t", seed: int = 0,
                permutations: int = 10_000) -> tuple[float, float]:  # fmt: skip
    """Statistic and two-sided p-value of a paired test between per-query values ``a`` and ``b``.

    Identical samples give p = 1.

    Example:
        >>> paired_test([1, 2, 3], [1, 2, 3])
        (0.0, 1.0)
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise IrrobustError(f"paired test needs two equal-length vectors, got {x.shape} and {y.shape}")
    d = x - y
    if len(d) == 0 or np.allclose(d, 0.0, rtol=0.0, atol=1e-12):
        return 0.0, 1.0
    if test == "t":
        if np.allclose(d, d[0], rtol=1e-9, atol=1e-12):  # constant non-zero difference: zero variance
            return float(np.sign(d[0]) * np.inf), 0.0
        res = stats.ttest_rel(x, y)
        return float(res.statistic), float(res.pvalue)
    if test == "wilcoxon":
        res = stats.wilcoxon(x, y, zero_method="wilcox")
        return float(res.statistic), float(res.pvalue)
    if test == "randomization":
        rng = np.random.default_rng(seed)
        observed = abs(d.mean())
        signs = rng.choice([-1.0, 1.0], size=(permutations, len(d)))
        count = int(np.sum(np.abs((signs * d).mean(axis=1)) >= observed - 1e-12))
        return float(d.mean()), (count + 1) / (permutations + 1)
    raise IrrobustError(f"unknown test {test!r}; allowed: {', '.join(TESTS)}")


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (Holm 1979), same order as given, capped at 1.

    Sort ascending; the i-th smallest (1-based) becomes ``max_{j ≤ i} min(1, (m - j + 1) · p_(j))``.

    Example:
        >>> holm([0.01, 0.02])
        [0.02, 0.02]
    """
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1:
        raise IrrobustError(f"expected a 1-D list of p-values, got shape {p.shape}")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise IrrobustError("p-values must be numbers in [0, 1]")
    m = len(p)
    order = np.argsort(p, kind="mergesort")
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    return [float(v) for v in adjusted]


def correct(pvalues: Sequence[float], method: str = "holm") -> list[float]:
    """Adjust a family of p-values with ``method`` (``holm``, ``bonferroni`` or ``none``).

    Example:
        >>> correct([0.01, 0.02], "bonferroni")
        [0.02, 0.04]
    """
    if method == "holm":
        return holm(pvalues)
    if method == "bonferroni":
        return [min(1.0, float(p) * len(pvalues)) for p in pvalues]
    if method == "none":
        return [float(p) for p in pvalues]
    raise IrrobustError(f"unknown correction {method!r}; allowed: {', '.join(CORRECTIONS)}")
