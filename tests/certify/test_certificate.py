"""Certificate rules, margins and CRQ."""

from __future__ import annotations

import math

import numpy as np
import pytest

from irrobust.certify.certificate import (
    bernstein_margin,
    certify_query,
    crq,
    hoeffding_margin,
    settled,
)
from irrobust.errors import ConfigError


def test_paper_margin_matches_the_code():
    # the paper's code: 2 * sqrt(ln(2/alpha) / (2N)) = 0.08589 for N = 1000, alpha = 0.05 — the rule's threshold
    margin = 2 * math.sqrt(math.log(2 / 0.05) / 2000)
    g, d, n = np.array([0.9, 0.8, 0.3]), np.zeros(3), np.full(3, 1000)
    for gap, certified in ((margin + 2e-4, True), (margin - 2e-4, False)):
        gg = np.array([0.9, 0.9 - gap, 0.3])
        assert certify_query(gg, d, n, np.zeros(3), ks=[1], rule="paper") == {1: certified}
        assert certify_query(gg, d, n, np.zeros(3), ks=[1], rule="paper", n_paper=1000) == {1: certified}
    assert certify_query(g, d, n, np.zeros(3), ks=[1, 2], rule="paper") == {1: True, 2: True}
    g2 = np.array([0.9, 0.85, 0.3])  # gap 0.05 < 0.0859
    assert certify_query(g2, d, n, np.zeros(3), ks=[1], rule="paper") == {1: False}


def test_max_rule_is_never_looser_in_delta():
    rng = np.random.default_rng(0)
    for _ in range(200):
        m = 12
        g, d, n = rng.random(m), rng.random(m) * 0.3, np.full(m, 10**6)
        tight = certify_query(g, d, n, np.zeros(m), rule="max", bound="hoeffding", alpha=0.05)
        # with negligible Monte Carlo error the "max" rule certifies iff the exact TV condition holds
        o = np.argsort(-g, kind="stable")
        for k, v in tight.items():
            exact = g[o][k - 1] > (g[o] + d[o])[k:].max()
            assert v == exact or abs(g[o][k - 1] - (g[o] + d[o])[k:].max()) < 0.01


def test_bounds():
    assert bernstein_margin(1000, 0.0, 0.01) < hoeffding_margin(1000, 0.01)
    assert bernstein_margin(1, 0.0, 0.01) == np.inf
    assert hoeffding_margin(4000, 0.05) == pytest.approx(hoeffding_margin(1000, 0.05) / 2)
    # empirical coverage of the one-sided Bernstein bound on Bernoulli(0.3) samples
    rng = np.random.default_rng(1)
    x = rng.random((4000, 50)) < 0.3
    m, v = x.mean(1), x.var(1, ddof=1)
    assert ((m - bernstein_margin(50, v, 0.05)) > 0.3).mean() < 0.05


def test_exact_documents_need_no_margin_and_errors():
    g, d, n = np.array([0.6, 0.59]), np.zeros(2), np.array([1, 1])
    assert certify_query(g, d, n, np.zeros(2), ks=[1], exact=np.array([True, True])) == {1: True}
    assert certify_query(g, d, np.array([50, 50]), np.zeros(2), ks=[1]) == {1: False}
    with pytest.raises(ConfigError):
        certify_query(g, d, n, np.zeros(2), rule="nope")
    assert settled(np.array([0.9, 0.1]), np.zeros(2), np.array([200, 200]), np.zeros(2), [1], "bernstein", 0.05) == {
        1: True
    }
    assert crq([{1: True}, {1: False}, {}], ks=[1, 5]) == {1: 0.5}


def test_bernstein_margin_splits_the_level_between_its_two_bounds():
    """min(Bernstein, Hoeffding) fails when either fails: each must be at a/2 for the minimum to hold at a."""
    from irrobust.certify.certificate import margins

    n = np.array([2, 16, 64, 256, 1024, 4096])
    for var in (0.0, 0.01, 0.25):
        for a in (1e-4, 0.01, 0.05):
            got = margins(n, np.full(len(n), var), np.zeros(len(n), dtype=bool), a, "bernstein")
            want = np.minimum(bernstein_margin(n, var, a / 2), hoeffding_margin(n, a / 2))
            assert np.array_equal(got, want)
            # and it is strictly wider than the minimum of both at a (valid at 1 - 2a only)
            assert (got > np.minimum(bernstein_margin(n, var, a), hoeffding_margin(n, a))).all()


def test_paper_margin_counts_only_sampled_documents_of_the_compared_pair():
    # adaptive mode (no n_paper): both compared documents exact -> no Monte Carlo term at all
    g, d = np.array([0.6, 0.59, 0.1]), np.zeros(3)
    exact = np.array([True, True, False])
    n = np.array([1, 1, 64])
    assert certify_query(g, d, n, np.zeros(3), ks=[1], rule="paper", alpha=0.05, exact=exact) == {1: True}
    # one exact, one sampled (n = 1000): one Hoeffding deviation sqrt(ln(40) / 2000) = 0.0429, not two
    g2 = np.array([0.65, 0.6, 0.1])
    n2 = np.array([1, 1000, 1000])
    one = np.array([True, False, False])
    assert certify_query(g2, d, n2, np.zeros(3), ks=[1], rule="paper", alpha=0.05, exact=one) == {1: True}
    assert certify_query(g2, d, n2, np.zeros(3), ks=[1], rule="paper", alpha=0.05) == {1: False}  # 0.05 < 0.0859
    # fixed mode (n_paper = N) gives the same for exact pairs
    assert certify_query(g, d, n, np.zeros(3), ks=[1], rule="paper", exact=exact, n_paper=100) == {1: True}
