"""Robustness statistics: hand-checkable numbers and agreement with scipy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from irrobust.errors import IrrobustError
from irrobust.evaluate.robustness import (
    bootstrap_ci,
    holm,
    kendall_tau_between_rankings,
    kendall_tau_per_query,
    paired,
    paired_test,
    per_query_std,
    per_query_variance,
    relative_drop,
    worst_fraction_mean,
)

# per-query values with a real shape: a skewed spread like AP/nDCG over queries
RNG = np.random.default_rng(2022)
CLEAN = pd.Series(RNG.beta(2, 3, size=50), index=[f"q{i}" for i in range(50)])
SHIFTED = (CLEAN - RNG.uniform(0, 0.2, size=50)).clip(lower=0)


def test_variance_and_std_by_hand() -> None:
    # mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5
    assert per_query_variance([1, 2, 3, 4]) == pytest.approx(5 / 3)
    assert per_query_variance([1, 2, 3, 4], ddof=0) == pytest.approx(5 / 4)
    assert per_query_std([1, 2, 3, 4]) == pytest.approx(math.sqrt(5 / 3))
    assert per_query_std({"a": 0.5, "b": 0.5}) == 0.0
    assert per_query_variance(CLEAN) == pytest.approx(np.var(CLEAN.to_numpy(), ddof=1))


def test_variance_needs_two_values_and_numbers() -> None:
    with pytest.raises(IrrobustError, match="at least 2"):
        per_query_variance([0.3])
    with pytest.raises(IrrobustError, match="missing"):
        per_query_std([0.3, float("nan")])
    with pytest.raises(IrrobustError, match="numbers"):
        per_query_std(pd.Series(["a", "b"]))


def test_worst_fraction_mean_by_hand() -> None:
    vals = [0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 1.0]
    assert worst_fraction_mean(vals, 0.1) == pytest.approx(0.1)  # 1 of 10
    assert worst_fraction_mean(vals, 0.25) == pytest.approx((0.1 + 0.2 + 0.3) / 3)  # ceil(2.5) = 3
    assert worst_fraction_mean(vals, 1.0) == pytest.approx(0.55)
    assert worst_fraction_mean(vals, 0.2, higher_is_better=False) == pytest.approx(0.95)
    assert worst_fraction_mean([0.4], 0.1) == 0.4  # at least one query
    assert worst_fraction_mean(CLEAN, 0.1) == pytest.approx(np.sort(CLEAN.to_numpy())[:5].mean())
    with pytest.raises(IrrobustError):
        worst_fraction_mean(vals, 0.0)


def test_bootstrap_ci_is_seeded_and_sensible() -> None:
    ci = bootstrap_ci(CLEAN, n=4000, seed=7)
    assert ci == bootstrap_ci(CLEAN, n=4000, seed=7)
    assert ci != bootstrap_ci(CLEAN, n=4000, seed=8)
    assert ci.low < ci.mean < ci.high
    assert ci.mean == pytest.approx(CLEAN.mean())
    # the percentile interval is close to the normal-theory interval of the mean
    se = CLEAN.std(ddof=1) / math.sqrt(len(CLEAN))
    assert ci.low == pytest.approx(CLEAN.mean() - 1.96 * se, abs=0.3 * se)
    assert ci.high == pytest.approx(CLEAN.mean() + 1.96 * se, abs=0.3 * se)
    narrow = bootstrap_ci(CLEAN, n=4000, alpha=0.5, seed=7)
    assert narrow.width < ci.width


def test_bootstrap_matches_scipy_percentile_bootstrap() -> None:
    ours = bootstrap_ci(CLEAN, n=10000, seed=1)
    ref = stats.bootstrap((CLEAN.to_numpy(),), np.mean, n_resamples=10000, method="percentile",
                          confidence_level=0.95, random_state=1).confidence_interval  # fmt: skip
    assert ours.low == pytest.approx(ref.low, abs=0.01)
    assert ours.high == pytest.approx(ref.high, abs=0.01)


def test_bootstrap_by_hand_two_values() -> None:
    # resample means of [0, 1] with 2 draws: 0 (p=.25), .5 (p=.5), 1 (p=.25)
    ci = bootstrap_ci([0.0, 1.0], n=20000, alpha=0.4, seed=3)
    assert (ci.low, ci.high) == (0.0, 1.0)
    ci = bootstrap_ci([0.0, 1.0], n=20000, alpha=0.6, seed=3)
    assert (ci.low, ci.high) == (0.5, 0.5)


def test_relative_drop_by_hand_and_pairing() -> None:
    clean = {"q1": 0.8, "q2": 0.4}
    shifted = pd.Series({"q2": 0.2, "q1": 0.6})
    assert relative_drop(clean, shifted) == pytest.approx((0.6 - 0.4) / 0.6)
    per_q = relative_drop(clean, shifted, per_query=True)
    assert per_q.to_dict() == pytest.approx({"q1": 0.25, "q2": 0.5})
    table = pd.DataFrame({"qid": ["q1", "q2"], "value": [0.8, 0.4]})
    assert relative_drop(table, shifted) == pytest.approx(1 / 3)
    assert relative_drop(shifted, clean) == pytest.approx(-0.5)  # an improvement is a negative drop


def test_relative_drop_errors() -> None:
    with pytest.raises(IrrobustError, match="different queries"):
        relative_drop({"q1": 1.0, "q2": 1.0}, {"q1": 0.5})
    assert relative_drop({"q1": 1.0, "q2": 1.0}, {"q1": 0.5}, strict=False) == pytest.approx(0.5)
    with pytest.raises(IrrobustError, match="undefined"):
        relative_drop({"q1": 0.0}, {"q1": 0.5})
    with pytest.raises(IrrobustError, match="duplicate"):
        relative_drop(pd.DataFrame({"qid": ["a", "a"], "value": [1, 2]}), {"a": 1.0})


def test_paired_aligns_on_qid() -> None:
    a, b, qids = paired(CLEAN, SHIFTED.sample(frac=1.0, random_state=0))
    assert np.array_equal(a - b, (CLEAN - SHIFTED).loc[qids].to_numpy())


@pytest.mark.parametrize("test", ["t", "wilcoxon"])
def test_paired_test_matches_scipy(test: str) -> None:
    res = paired_test(CLEAN, SHIFTED.iloc[::-1], test=test)  # reversed order: pairing is by qid
    ref = stats.ttest_rel(CLEAN, SHIFTED) if test == "t" else stats.wilcoxon(CLEAN, SHIFTED)
    assert res.statistic == pytest.approx(ref.statistic)
    assert res.pvalue == pytest.approx(ref.pvalue)
    assert res.n == 50 and res.significant()


def test_paired_t_by_hand() -> None:
    # differences -0.1, -0.05, -0.15, -0.1: mean -0.1, sd sqrt(0.005/3), t = -0.1 / (sd/2) = -4.899
    res = paired_test([0.1, 0.2, 0.3, 0.4], [0.2, 0.25, 0.45, 0.5], test="t")
    assert res.statistic == pytest.approx(-0.1 / (math.sqrt(0.005 / 3) / 2))
    assert res.pvalue == pytest.approx(2 * stats.t.sf(abs(res.statistic), df=3))


def test_paired_test_degenerate_cases() -> None:
    same = paired_test([0.1, 0.2, 0.3], [0.1, 0.2, 0.3], test="wilcoxon")
    assert (same.statistic, same.pvalue) == (0.0, 1.0)
    const = paired_test([0.2, 0.3, 0.4], [0.1, 0.2, 0.3], test="t")
    assert const.statistic == math.inf and const.pvalue == 0.0
    with pytest.raises(IrrobustError, match="unknown paired test"):
        paired_test([1, 2], [2, 1], test="sign")
    with pytest.raises(IrrobustError, match="equal length"):
        paired_test([1, 2, 3], [2, 1])


def test_holm_by_hand() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> running max 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1
    s = holm(pd.Series([0.01, 0.02], index=["bm25", "bert"]))
    assert s.to_dict() == pytest.approx({"bm25": 0.02, "bert": 0.02})
    with pytest.raises(IrrobustError):
        holm([0.1, 1.2])


def test_holm_is_never_below_raw_and_monotone() -> None:
    p = RNG.uniform(0, 0.2, size=30)
    adj = holm(p)
    assert np.all(adj >= p)
    order = np.argsort(p)
    assert np.all(np.diff(adj[order]) >= 0)
    assert adj[order[0]] == pytest.approx(min(1.0, 30 * p[order[0]]))


def test_kendall_tau_by_hand() -> None:
    assert kendall_tau_between_rankings(list("abcd"), list("abcd")) == 1.0
    assert kendall_tau_between_rankings(list("abcd"), list("dcba")) == -1.0
    # one adjacent swap among 4 items: 5 concordant, 1 discordant pair -> 4/6
    assert kendall_tau_between_rankings(list("abcd"), list("bacd")) == pytest.approx(4 / 6)
    # intersection only: e and f are ignored
    assert kendall_tau_between_rankings(list("abce"), list("fabc")) == 1.0
    # union: e ranked last in b (missing), f last in a; ties make it tau-b
    a, b = list("abce"), list("fabc")
    ra = [0, 1, 2, 3, 4]  # a b c e f
    rb = [1, 2, 3, 4, 0]
    assert kendall_tau_between_rankings(a, b, union=True) == pytest.approx(stats.kendalltau(ra, rb).statistic)
    assert math.isnan(kendall_tau_between_rankings(["a"], ["a"]))
    with pytest.raises(IrrobustError, match="twice"):
        kendall_tau_between_rankings(["a", "a"], ["a"])


def test_kendall_tau_matches_scipy_on_scores() -> None:
    docs = [f"d{i}" for i in range(40)]
    s1 = RNG.normal(size=40)
    s2 = s1 + RNG.normal(scale=0.5, size=40)
    r1 = [docs[i] for i in np.argsort(-s1)]
    r2 = [docs[i] for i in np.argsort(-s2)]
    assert kendall_tau_between_rankings(r1, r2) == pytest.approx(stats.kendalltau(s1, s2).statistic)


def test_kendall_tau_per_query_with_cutoff() -> None:
    before = pd.DataFrame(
        {"qid": ["1"] * 4 + ["2"] * 2, "docno": list("abcd") + list("xy"), "rank": [1, 2, 3, 4, 1, 2]}
    )
    after = pd.DataFrame({"qid": ["1"] * 4 + ["2"] * 2, "docno": list("bacd") + list("yx"), "rank": [1, 2, 3, 4, 1, 2]})
    tau = kendall_tau_per_query(before, after)
    assert tau.to_dict() == pytest.approx({"1": 4 / 6, "2": -1.0})
    assert kendall_tau_per_query(before, after, k=2)["1"] == -1.0
