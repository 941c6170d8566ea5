"""Exact total variation: δ_d and q_w against the TV distance between the smoothing distributions Π_d and Π_d′ of
a document and of every attacked version of it, by enumerating every substitution outcome of small documents.

The certificate rests on |g(q, d) − g(q, d′)| ≤ TV(Π_d, Π_d′) ≤ δ_d(R) for every d′ the attacker can reach with
≤ R substitutions from the sets S_w. Here Π_d is enumerated outcome by outcome exactly as the smoothing draws it
(each random token uniform over its T_w, materialised to text by :meth:`PerturbationSets.materialise`), and the
attacked documents are every combination of ≤ R substitutions of whole words (core word replaced, punctuation
and capitalisation kept, as :meth:`PerturbationSets.token_text` does).
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest

from irrobust.certify.perturb import PerturbationSets, split_token

# with M = 4: a cycle of 7 words and a path of 5 (divided: T_w = the first 4 words of a BFS from w, q_w = 0.5, 0.75
# or 1), a star-like component of 6 (divided), and a pair (undivided: T_w is the whole component, q_w = 1)
TABLE = {
    "alpha": ["beta", "gamma"], "beta": ["alpha", "delta"], "gamma": ["alpha", "eta"], "delta": ["beta", "eps"],
    "eps": ["delta", "zeta"], "zeta": ["eps", "eta"], "eta": ["zeta", "gamma"],
    "one": ["two"], "two": ["one", "three"], "three": ["two", "four"], "four": ["three", "five"], "five": ["four"],
    "red": ["blue"], "blue": ["red"],
    "hub": ["x1", "x2", "x3"], "x1": ["hub", "y1"], "x2": ["hub", "y2"], "x3": ["hub"], "y1": ["x1"], "y2": ["x2"],
}  # fmt: skip
DOCS = [
    "alpha", "Beta,", "three", "five.", "red", "alpha beta", "(gamma) two", "eps one red", "Delta, zeta four",
    "alpha alpha three", "the beta of two (five) blue", "Eta gamma three red", "hub x1, y2", "Gamma eta hub",
]  # fmt: skip


@pytest.fixture(scope="module")
def small_sets():
    return PerturbationSets(TABLE, counts=None, min_freq=0, max_set=4, graph="mutual")


def smoothing_distribution(sets: PerturbationSets, text: str) -> dict[str, float]:
    """Π_d exactly: every outcome of the independent uniform draws over T_w, materialised to text."""
    pos = sets.positions(text)
    options = [sets.smoothing_ids(int(pos.word_ids[p])) for p in pos.positions]
    draws = np.array(list(itertools.product(*options)), dtype=np.int64).reshape(-1, len(options))
    prob = 1.0 / np.prod([len(o) for o in options]) if options else 1.0
    dist: dict[str, float] = defaultdict(float)
    for t in sets.materialise(pos, draws):
        dist[t] += prob
    return dist


def total_variation(p: dict[str, float], q: dict[str, float]) -> float:
    return 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in set(p) | set(q))


def attacks(sets: PerturbationSets, text: str, budget: int | None):
    """Every document reachable with ≤ budget substitutions of whole words by their S_w (budget None: any)."""
    toks = text.split()
    subs = [(i, sets.synonyms(split_token(t)[1])) for i, t in enumerate(toks)]
    subs = [(i, s) for i, s in subs if s]
    top = len(subs) if budget is None else min(budget, len(subs))
    for r in range(1, top + 1):
        for combo in itertools.combinations(subs, r):
            for choice in itertools.product(*[s for _, s in combo]):
                tt = list(toks)
                for (i, _), w in zip(combo, choice, strict=True):
                    tt[i] = sets.token_text(tt[i], sets.word_id(w))
                yield " ".join(tt)


def test_the_toy_graph_has_divided_and_undivided_words(small_sets):
    qs = {w: small_sets.overlap(w) for w in TABLE}
    assert qs["red"] == qs["blue"] == 1.0  # undivided
    assert qs["gamma"] == 0.5 and qs["alpha"] == qs["hub"] == 0.75  # divided
    assert qs["one"] == 1.0 and len(small_sets.smoothing_set("one")) == 4  # divided, but S_w inside T_w's overlap


def test_q_w_is_one_minus_the_largest_tv_of_a_single_substitution(small_sets):
    for w in TABLE:
        p = smoothing_distribution(small_sets, w)
        tvs = [total_variation(p, smoothing_distribution(small_sets, s)) for s in small_sets.synonyms(w)]
        assert tvs, w
        assert small_sets.overlap(w) == pytest.approx(1.0 - max(tvs), abs=1e-12), w


@pytest.mark.parametrize("budget", [1, 2, None])
def test_delta_bounds_the_exact_tv_of_every_attack_and_is_attained(small_sets, budget):
    checked = 0
    distinct = set()
    for text in DOCS:
        p = smoothing_distribution(small_sets, text)
        assert sum(p.values()) == pytest.approx(1.0)
        delta = small_sets.delta(text, budget)
        tvs = [total_variation(p, smoothing_distribution(small_sets, a)) for a in attacks(small_sets, text, budget)]
        assert tvs, text
        assert max(tvs) <= delta + 1e-12, (text, budget, max(tvs), delta)  # sound
        assert max(tvs) == pytest.approx(delta, abs=1e-12), (text, budget)  # and tight (equal-size sets here)
        checked += len(tvs)
        distinct.add(round(delta, 9))
    assert checked >= 50 and len(distinct - {0.0}) >= (2 if budget == 1 else 4)  # many attacks, several δ_d


def test_sampling_draws_from_the_enumerated_distribution(small_sets):
    """The Monte Carlo draws of :meth:`PerturbationSets.sample` follow the Π_d enumerated above."""
    text = "Eta gamma three red"
    p = smoothing_distribution(small_sets, text)
    pos = small_sets.positions(text)
    n = 20_000
    texts = small_sets.materialise(pos, small_sets.sample(pos, n, np.random.default_rng(3)))
    freq: dict[str, float] = defaultdict(float)
    for t in texts:
        freq[t] += 1.0 / n
    assert set(freq) <= set(p)
    assert total_variation(p, freq) < 0.05  # 128 outcomes, 20,000 draws: expected TV ≈ 0.03
