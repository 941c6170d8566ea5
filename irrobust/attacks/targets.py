"""Which documents to attack: the "easy" and "hard" target sets of a ranked list.

Easy-5 / Hard-5 follow the protocol later papers use for PRADA-style attacks (EMPRA's README): from a
query's top-100 of the attacked ranker, *easy* = one document drawn from each of ranks 51–60, 61–70, …,
91–100; *hard* = the last five. Deviation: the hard set is the last five of the **top-100** list that is
attacked (the protocol's "last five of 1000" would need the target model to rank 1000 candidates per
query; set ``depth`` and the buckets to reproduce it).

Example:
    >>> select_targets(100, "q1", seed=0)["hard"]
    [96, 97, 98, 99, 100]
    >>> [51 <= r <= 60 for r in select_targets(100, "q1", seed=0)["easy"][:1]]
    [True]
"""

from __future__ import annotations

import hashlib

import numpy as np

from irrobust.errors import ConfigError

DEFAULT_BUCKETS: tuple[tuple[int, int], ...] = ((51, 60), (61, 70), (71, 80), (81, 90), (91, 100))


def rng_for(seed: int, *keys: str) -> np.random.Generator:
    """A generator seeded by ``seed`` and string keys (stable across processes and Python versions).

    Example:
        >>> bool(rng_for(0, "a").integers(100) == rng_for(0, "a").integers(100))
        True
    """
    digest = hashlib.sha256("\x1f".join([str(seed), *keys]).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def select_targets(list_length: int, qid: str, seed: int, buckets: tuple[tuple[int, int], ...] = DEFAULT_BUCKETS,
                   per_bucket: int = 1, hard: int = 5, sets: tuple[str, ...] = ("easy", "hard"),
                   key: str = "") -> dict[str, list[int]]:  # fmt: skip
    """1-based ranks of the target documents per set, for a list of ``list_length`` documents.

    Buckets beyond the list length are clipped (a list shorter than 51 has no easy targets); the hard set is
    the last ``hard`` ranks. ``key`` (e.g. the system name) varies the seeded draw.

    Example:
        >>> select_targets(55, "q", 1, hard=2)
        {'easy': [53], 'hard': [54, 55]}
    """
    unknown = set(sets) - {"easy", "hard"}
    if unknown:
        raise ConfigError(f"unknown target set(s) {sorted(unknown)}; use 'easy' and/or 'hard'", where="targets.sets")
    out: dict[str, list[int]] = {}
    if "easy" in sets:
        rng = rng_for(seed, "easy", qid, key)
        ranks: list[int] = []
        for lo, hi in buckets:
            if lo > hi or lo < 1:
                raise ConfigError(f"bad bucket [{lo}, {hi}]", where="targets.buckets")
            hi = min(hi, list_length)
            if lo > hi:
                continue
            pool = np.arange(lo, hi + 1)
            k = min(per_bucket, len(pool))
            ranks += sorted(int(r) for r in rng.choice(pool, size=k, replace=False))
        out["easy"] = ranks
    if "hard" in sets:
        out["hard"] = list(range(max(1, list_length - hard + 1), list_length + 1))
    return out
