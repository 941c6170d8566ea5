"""The PLD protocol: 10-core filter, per-user 70/10/20 split, noise into train only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from irrobust.recsys.protocol import filter_users, inject_noise, make_split, split_per_user


def test_split_is_per_user_70_10_20_and_disjoint(ml100k):
    d = filter_users(ml100k, 10)
    tr, va, te = split_per_user(d, seed=3)
    assert len(tr) + len(va) + len(te) == len(d)
    key = lambda x: set(zip(x.user, x.item, strict=True))  # noqa: E731
    assert not (key(tr) & key(va)) and not (key(tr) & key(te)) and not (key(va) & key(te))
    n = d.groupby("user").size()
    assert (te.groupby("user").size() == np.floor(0.2 * n + 0.5)).all()
    assert (va.groupby("user").size() == np.floor(0.1 * n + 0.5)).all()
    # seeded: same seed same split, other seed other split
    tr2, _, _ = split_per_user(d, seed=3)
    tr3, _, _ = split_per_user(d, seed=4)
    assert key(tr) == key(tr2) and key(tr) != key(tr3)


def test_filter_drops_light_users(lastfm):
    d = filter_users(lastfm, 10)
    assert d.groupby("user").size().min() >= 10
    assert d.user.nunique() < lastfm.user.nunique()


def test_noise_count_and_support(ml100k):
    s = make_split(ml100k, rho=0.3, seed=11)
    clean = s.train[~s.train.noise]
    n_clean = clean.groupby("user").size()
    n_noise = s.train[s.train.noise].groupby("user").size().reindex(n_clean.index, fill_value=0)
    assert (n_noise == np.floor(0.3 * n_clean + 1e-9).astype(int)).all()
    # noise items were never interacted with in train, and only train is corrupted
    assert not s.train.duplicated(["user", "item"]).any()
    assert len(s.valid) + len(s.test) + len(clean) == len(filter_users(ml100k, 10))
    # the authors' protocol allows noise to hit held-out items; exclude_heldout forbids it
    held = set(zip(s.test.user, s.test.item, strict=True)) | set(zip(s.valid.user, s.valid.item, strict=True))
    noisy = set(zip(s.train[s.train.noise].user, s.train[s.train.noise].item, strict=True))
    assert noisy & held
    s2 = make_split(ml100k, rho=0.3, seed=11, exclude_heldout=True)
    noisy2 = set(zip(s2.train[s2.train.noise].user, s2.train[s2.train.noise].item, strict=True))
    assert not (noisy2 & held)


def test_noise_nested_across_rho_and_split_shared(ml100k):
    a = make_split(ml100k, rho=0.1, seed=5, max_users=200)
    b = make_split(ml100k, rho=0.4, seed=5, max_users=200)
    na = set(zip(a.train[a.train.noise].user, a.train[a.train.noise].item, strict=True))
    nb = set(zip(b.train[b.train.noise].user, b.train[b.train.noise].item, strict=True))
    assert na < nb
    pd.testing.assert_frame_equal(a.test, b.test)
    assert abs(b.noise_share - 0.4 / 1.4) < 0.02


def test_inject_noise_zero_rho_is_identity():
    tr = pd.DataFrame({"user": ["u", "u", "v"], "item": ["a", "b", "a"]})
    out = inject_noise(tr, ["a", "b", "c"], 0.0, seed=1)
    assert len(out) == 3 and not out.noise.any()
