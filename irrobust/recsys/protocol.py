"""The PLD data protocol: 10-core users, per-user 70/10/20 split, noise injected into train only.

Reimplements the protocol of Zhang et al., "Personalized Denoising Implicit Feedback for Robust
Recommender System" (PLD), WWW 2025, arXiv 2502.00348, as read in the authors' code
(``utls/mydataset.py``; see ``shared/reference/papers.md`` §4.2):

1. keep users with at least ``min_interactions`` interactions (10);
2. shuffle each user's list (seeded) and split it 70/10/20 into train/valid/test;
3. for each user add ``floor(rho * |train_u|)`` items drawn uniformly, without replacement,
   from the items the user has **not** interacted with **in train** -- to the training set only.
   Every training row carries a ``noise`` flag so the share of injected interactions a
   method keeps or down-weights can be measured.

Deviations / choices (all documented in ``docs/recsys.md``):

* Split sizes per user: ``n_test = round(0.2 n)``, ``n_valid = round(0.1 n)``, the rest is
  train (the authors' exact rounding is not documented); with ``n >= 10`` every part is non-empty.
* Noise is **nested across rho**: each user's candidate items are put in one seeded random order
  that does not depend on rho, and rho takes a prefix. So the rho=0.2 noise is a subset of the
  rho=0.4 noise for the same seed, which makes the rho curve a paired comparison.
* As in the authors' code, noise items may coincide with the user's valid/test items (paper
  quirk). ``exclude_heldout=True`` draws noise only from items outside train ∪ valid ∪ test.
* The item universe is the set of items left after the user filter.

Example:
    >>> import pandas as pd
    >>> from irrobust.recsys.data import load_interactions
    >>> s = make_split(load_interactions("ml-100k"), rho=0.2, seed=2024)
    >>> s.n_users, round(s.noise_share, 3)
    (943, 0.163)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from irrobust.errors import ConfigError, DataError

__all__ = ["Split", "filter_users", "inject_noise", "make_split", "split_per_user", "subsample_users"]

_NOISE_STREAM = 0x5EED_0015  # separates the noise RNG stream from the split RNG stream
_SPLIT_STREAM = 0x5EED_0051


@dataclass(frozen=True)
class Split:
    """One (dataset, rho, seed) instance of the protocol.

    Attributes:
        train: ``user, item, noise`` (noise: bool, True for injected rows).
        valid, test: ``user, item``.
        items: the item universe (sorted strings).
        rho, seed: how it was made.

    Example:
        >>> s = Split(pd.DataFrame({"user": ["1"], "item": ["a"], "noise": [False]}),
        ...           pd.DataFrame({"user": ["1"], "item": ["b"]}), pd.DataFrame({"user": ["1"], "item": ["c"]}),
        ...           ("a", "b", "c"), 0.0, 1)
        >>> s.n_users, s.noise_share
        (1, 0.0)
    """

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame
    items: tuple[str, ...]
    rho: float
    seed: int

    @property
    def n_users(self) -> int:
        """Number of users (all users have train, valid and test items)."""
        return int(self.train.user.nunique())

    @property
    def noise_share(self) -> float:
        """Share of training interactions that are injected noise."""
        return float(self.train.noise.mean()) if len(self.train) else 0.0


def filter_users(df: pd.DataFrame, min_interactions: int = 10) -> pd.DataFrame:
    """Keep users with at least ``min_interactions`` (distinct) interactions.

    Example:
        >>> df = pd.DataFrame({"user": ["a"] * 10 + ["b"] * 9, "item": [str(i) for i in range(19)]})
        >>> filter_users(df, 10).user.unique().tolist()
        ['a']
    """
    counts = df.groupby("user")["item"].transform("size")
    out = df[counts >= min_interactions].reset_index(drop=True)
    if out.empty:
        raise DataError(f"no user has at least {min_interactions} interactions", where="recsys.min_user_interactions")
    return out


def subsample_users(df: pd.DataFrame, max_users: int | None, seed: int) -> pd.DataFrame:
    """Keep a seeded random subset of ``max_users`` users (all if ``None`` or more than exist).

    Used for quick runs and tests; the subset depends only on ``seed``.

    Example:
        >>> df = pd.DataFrame({"user": list("aabbcc"), "item": list("xyxyxy")})
        >>> subsample_users(df, 2, seed=0).user.nunique()
        2
    """
    users = np.sort(df.user.unique())
    if max_users is None or max_users >= len(users):
        return df
    rng = np.random.default_rng([seed, 0xA11])
    keep = set(rng.choice(users, size=max_users, replace=False).tolist())
    return df[df.user.isin(keep)].reset_index(drop=True)


def split_per_user(
    df: pd.DataFrame, seed: int, ratios: tuple[float, float, float] = (0.7, 0.1, 0.2)
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per-user random train/valid/test split (seeded), sizes ``round(r * n)`` for valid and test.

    Example:
        >>> df = pd.DataFrame({"user": ["u"] * 10, "item": [str(i) for i in range(10)]})
        >>> [len(x) for x in split_per_user(df, seed=1)]
        [7, 1, 2]
    """
    if abs(sum(ratios) - 1.0) > 1e-9:
        raise ConfigError(f"split ratios must sum to 1, got {ratios}", where="recsys.split")
    d = df[["user", "item"]].copy()
    rng = np.random.default_rng([seed, _SPLIT_STREAM])
    d["_key"] = rng.random(len(d))
    d = d.sort_values(["user", "_key"], kind="stable").reset_index(drop=True)
    pos = d.groupby("user").cumcount().to_numpy()
    n = d.groupby("user")["item"].transform("size").to_numpy()
    n_test = np.floor(ratios[2] * n + 0.5).astype(int)
    n_valid = np.floor(ratios[1] * n + 0.5).astype(int)
    n_train = n - n_test - n_valid
    if (n_train < 1).any():
        raise DataError(
            "a user has no training interaction after the split; raise min_user_interactions", where="recsys.split"
        )
    part = np.where(pos < n_train, 0, np.where(pos < n_train + n_valid, 1, 2))
    d = d.drop(columns="_key")
    return tuple(d[part == k].reset_index(drop=True) for k in range(3))  # type: ignore[return-value]


def inject_noise(
    train: pd.DataFrame,
    items: np.ndarray | list[str] | tuple[str, ...],
    rho: float,
    seed: int,
    exclude: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Add ``floor(rho * |train_u|)`` uniformly drawn non-interacted items per user to ``train``.

    Args:
        train: ``user, item`` training interactions.
        items: the item universe to draw from.
        rho: noise ratio (0 <= rho < 1... any value >= 0 with enough free items).
        seed: the noise seed; the candidate order per user does not depend on ``rho``, so noise
            sets are nested across rho for a fixed seed.
        exclude: extra ``user, item`` pairs that must not be drawn (e.g. valid/test).

    Returns:
        ``user, item, noise`` with the original rows first (noise=False), sorted by user.

    Example:
        >>> tr = pd.DataFrame({"user": ["u"] * 4, "item": ["a", "b", "c", "d"]})
        >>> out = inject_noise(tr, list("abcdefgh"), rho=0.5, seed=0)
        >>> int(out.noise.sum()), set(out[out.noise].item) <= set("efgh")
        (2, True)
    """
    if rho < 0:
        raise ConfigError(f"noise ratio must be >= 0, got {rho}", where="recsys.rhos")
    items_arr = np.asarray(sorted(set(map(str, items))), dtype=object)
    item_index = {it: k for k, it in enumerate(items_arr)}
    base = train[["user", "item"]].copy()
    base["noise"] = False
    if rho == 0:
        return base.sort_values("user", kind="stable").reset_index(drop=True)
    blocked = base[["user", "item"]]
    if exclude is not None:
        blocked = pd.concat([blocked, exclude[["user", "item"]]], ignore_index=True)
    blocked_by_user = blocked.groupby("user")["item"].agg(list).to_dict()
    n_train = base.groupby("user").size()
    users, noise_items = [], []
    for uidx, user in enumerate(sorted(n_train.index)):
        m = int(np.floor(rho * int(n_train[user]) + 1e-9))
        if m == 0:
            continue
        mask = np.ones(len(items_arr), dtype=bool)
        mask[[item_index[i] for i in blocked_by_user[user] if i in item_index]] = False
        cand = np.flatnonzero(mask)
        if len(cand) < m:
            raise DataError(
                f"user {user!r} has only {len(cand)} free items for {m} noise items (rho={rho})", where="recsys.rhos"
            )
        rng = np.random.default_rng([seed, _NOISE_STREAM, uidx])
        order = rng.permutation(len(cand))
        users.extend([user] * m)
        noise_items.extend(items_arr[cand[order[:m]]].tolist())
    noisy = pd.DataFrame({"user": users, "item": noise_items, "noise": True})
    out = pd.concat([base, noisy], ignore_index=True)
    return out.sort_values("user", kind="stable").reset_index(drop=True)


def make_split(
    df: pd.DataFrame,
    rho: float,
    seed: int,
    min_interactions: int = 10,
    ratios: tuple[float, float, float] = (0.7, 0.1, 0.2),
    exclude_heldout: bool = False,
    max_users: int | None = None,
) -> Split:
    """Filter, split and corrupt an interaction table (the whole PLD protocol for one rho and seed).

    The clean split depends only on ``seed`` (not on rho), so all rho values of one seed share
    the same valid/test sets.

    Example:
        >>> from irrobust.recsys.data import load_interactions
        >>> s = make_split(load_interactions("ml-100k"), rho=0.0, seed=1, max_users=100)
        >>> s.n_users, s.noise_share
        (100, 0.0)
    """
    d = filter_users(df, min_interactions)
    d = subsample_users(d, max_users, seed=0)  # same user subset for every seed (paired tests)
    items = tuple(sorted(d.item.unique()))
    train, valid, test = split_per_user(d, seed, ratios)
    exclude = pd.concat([valid, test], ignore_index=True) if exclude_heldout else None
    noisy = inject_noise(train, items, rho, seed, exclude=exclude)
    return Split(noisy, valid, test, items, float(rho), int(seed))
