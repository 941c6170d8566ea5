"""Coverage of the certificate's confidence bounds, by simulation: seeded score streams with known means.

The certificates hold with probability ≥ 1 − α only if every one-sided margin ε of
:func:`irrobust.certify.certificate.margins` fails with probability ≤ its level, and if the engine's allocation
of levels (Bonferroni over the list's documents and both sides, a union bound over the adaptive rounds,
per-document levels) sums to α. Both are checked here empirically:

* per cell (stream, n, level): the miss rate of each side of each bound against its level, over Bernoulli
  streams (whose worst case makes Hoeffding nearly tight at small n and large levels — the only regime where a
  factor 2 in the level is visible) and Beta streams;
* end to end through :func:`irrobust.certify.engine.certify_list` with a stand-in smoother that replays
  pre-drawn streams: fixed N and adaptive sampling with per-document stopping, the bounds taken from the same
  ``_sorted_bounds`` the certificate uses, and every certified K checked against the true means.

Every check is "observed rate ≤ nominal level + a binomial tolerance" (4.5 standard errors of the nominal
rate: with the hundreds of cells, a false alarm has probability < 1 %; the seeds are fixed anyway).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from irrobust.certify.certificate import _sorted_bounds, margins
from irrobust.certify.engine import CertifyConfig, certify_list

Z = 4.5


def _tol(a: float | np.ndarray, reps: int) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a + Z * np.sqrt(a * (1 - a) / reps)


def _streams() -> list[tuple[str, float, object]]:
    """(name, true mean, draw(rng, shape)) of [0, 1]-valued streams."""
    out: list[tuple[str, float, object]] = []
    for p in np.round(np.arange(0.05, 0.96, 0.05), 2):
        out.append((f"bernoulli({p})", float(p), lambda rng, shape, p=p: (rng.random(shape) < p).astype(np.float64)))
    for a, b in ((0.5, 0.5), (2.0, 5.0), (0.2, 2.0), (5.0, 0.3)):
        out.append((f"beta({a},{b})", a / (a + b), lambda rng, shape, a=a, b=b: rng.beta(a, b, shape)))
    return out


@pytest.mark.parametrize("bound", ["hoeffding", "bernstein"])
def test_each_margin_covers_at_its_level(bound):
    reps = 4000
    ns = (1, 2, 3, 8, 32)
    levels = np.array([0.01, 0.05, 0.2, 0.35, 0.45])
    rng = np.random.default_rng(20261130)
    worst = []
    for name, mean, draw in _streams():
        for n in ns:
            x = draw(rng, (reps, n))
            g = x.mean(1)
            var = x.var(1, ddof=1) if n > 1 else np.zeros(reps)
            # every level at once: (levels, reps) arrays through the certificate's own margins()
            eps = margins(np.full((len(levels), reps), n), np.broadcast_to(var, (len(levels), reps)),
                          np.zeros((len(levels), reps), dtype=bool), levels[:, None], bound)  # fmt: skip
            low = (mean < g[None, :] - eps).mean(1)  # the lower bound is above the mean
            high = (mean > g[None, :] + eps).mean(1)
            for side, rate in (("lower", low), ("upper", high)):
                ok = rate <= _tol(levels, reps)
                worst.append(float((rate / levels).max()))
                assert ok.all(), f"{bound} {side} bound of {name}, n={n}: miss rate {rate[~ok]} at level {levels[~ok]}"
    # the simulation does reach the regime where the bound is nearly tight (else it could not catch a doubled level)
    if bound == "hoeffding":
        assert max(worst) > 0.6


class _ReplaySmoother:
    """Stand-in for :class:`~irrobust.certify.smoothing.SmoothedRanker`: text ``"i"`` replays row i of a
    pre-drawn (documents, N) matrix (prefix-consistent, like the real one); exact documents give one value."""

    def __init__(self, values: np.ndarray, exact: np.ndarray) -> None:
        self.values, self.exact = values, exact

    def prepare(self, text: str) -> SimpleNamespace:
        i = int(text)
        return SimpleNamespace(exact=bool(self.exact[i]), pos=i)

    def sample_scores(self, query: str, texts: list[str], start: int = 0, stop: int | None = None) -> list[np.ndarray]:
        out = []
        for t in texts:
            i = int(t)
            out.append(self.values[i, :1] if start == 0 else self.values[i, :0]) if self.exact[i] else out.append(
                self.values[i, start:stop])  # fmt: skip
        return out


class _Deltas:
    def __init__(self, delta: np.ndarray) -> None:
        self.d = delta

    def delta(self, pos: int, budget: int | None) -> float:
        return float(self.d[pos])


def _simulate(cfg: CertifyConfig, means: np.ndarray, draws: list, delta: np.ndarray, exact: np.ndarray, reps: int,
              seed: int) -> tuple[dict[str, float], dict[str, float], float]:  # fmt: skip
    """Per bound: mean number of (document, side) bounds missing the true mean per query, at the level and sample
    size each document ended with; per sound rule: share of queries with some wrong certified K; mean samples."""
    m = len(means)
    rng = np.random.default_rng(seed)
    bounds = sorted({b for r, b in cfg.rules if r == "max"})
    misses = dict.fromkeys(bounds, 0.0)
    wrong = {f"max/{b}": 0.0 for b in bounds}
    samples = 0.0
    names = [str(i) for i in range(m)]
    for _ in range(reps):
        vals = np.stack([draw(rng, cfg.n_samples) for draw in draws])
        vals[exact] = means[exact, None]
        res = certify_list(_ReplaySmoother(vals, exact), _Deltas(delta), cfg, "q", "q", names, names, np.zeros(m))
        g = np.array([d["g"] for d in res["docs"]])
        var = np.array([d["var"] for d in res["docs"]])
        n = np.array([d["n"] for d in res["docs"]])
        level = np.array([d["level"] for d in res["docs"]])
        samples += n[~exact].mean() / reps
        for b in bounds:
            o, _, _, lo, hi = _sorted_bounds(g, delta, n, var, b, level, exact)  # the certificate's own bounds
            misses[b] += ((means[o] < lo).sum() + (means[o] + delta[o] > hi).sum()) / reps
        o = np.argsort(-g, kind="stable")
        for key, dec in res["decisions"].items():
            rule = key.rsplit("/", 1)[0]
            if rule in wrong and any(v and means[o[: int(k)]].min() <= (means + delta)[o[int(k):]].max()
                                     for k, v in dec.items()):  # fmt: skip
                wrong[rule] += 1 / reps
    return misses, wrong, samples


def _bern(p: float):
    return lambda rng, n: (rng.random(n) < p).astype(np.float64)


@pytest.mark.parametrize("stream", ["bernoulli", "beta"])
def test_fixed_n_certificates_cover_at_alpha(stream):
    """Two documents of mean 0.5, N = 2, α = 0.8: each side of each document gets α/4 = 0.2, where Hoeffding is
    nearly tight for a fair coin (at twice that level both sides of both documents miss a quarter of the time)."""
    reps = 1500
    cfg = CertifyConfig(n_samples=2, alpha=0.8, ks=(1,), rules=(("max", "hoeffding"), ("max", "bernstein")))
    draw = _bern(0.5) if stream == "bernoulli" else (lambda rng, n: rng.beta(0.3, 0.3, n))
    misses, wrong, _ = _simulate(cfg, np.array([0.5, 0.5]), [draw, draw], np.zeros(2), np.zeros(2, dtype=bool), reps, 7)
    for b, v in misses.items():
        assert v <= _tol(cfg.alpha, reps), (b, v)  # E[#misses] ≤ Σ levels = α (the union bound's budget)
    for rule, v in wrong.items():
        assert v <= _tol(cfg.alpha, reps), (rule, v)  # a tie certified at K = 1 is wrong


def test_adaptive_per_document_certificates_cover_at_alpha():
    """Six documents (Bernoulli and Beta streams, one exact, δ > 0 for two), adaptive rounds 2 … 64 with
    per-document stopping: per-document levels as the engine allocates them, misses at the stopping round.

    (A validity check under optional stopping; the union over rounds leaves too much slack for a doubled level to
    show here — the two tests above catch that.)"""
    reps = 400
    cfg = CertifyConfig(n_samples=64, alpha=0.5, ks=(1, 2), adaptive=True, n0=2,
                        rules=(("paper", "hoeffding"), ("max", "hoeffding"), ("max", "bernstein")))  # fmt: skip
    assert sum(cfg.levels()) == pytest.approx(cfg.alpha) and len(cfg.schedule()) == 6
    means = np.array([0.95, 0.9, 0.2, 0.15, 0.1, 0.5])
    draws = [_bern(0.95), lambda rng, n: rng.beta(9.0, 1.0, n), _bern(0.2), lambda rng, n: rng.beta(0.3, 1.7, n),
             _bern(0.1), _bern(0.5)]  # fmt: skip
    delta = np.array([0.0, 0.0, 0.0, 0.01, 0.05, 0.0])
    exact = np.array([False, False, False, False, False, True])
    misses, wrong, samples = _simulate(cfg, means, draws, delta, exact, reps, 11)
    for b, v in misses.items():
        assert v <= _tol(cfg.alpha, reps), (b, v)
    for rule, v in wrong.items():
        assert v <= _tol(cfg.alpha, reps), (rule, v)
    assert samples < 48  # per-document stopping did stop documents early (rounds and levels exercised)
