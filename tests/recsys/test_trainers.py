"""T-CE (pointwise, as published, and the BPR-pair variant), R-CE and the shared training loop."""

from __future__ import annotations

import pytest
import torch

from irrobust.recsys import training
from irrobust.recsys.config import RecsysConfig
from irrobust.recsys.experiment import prepare_unit
from irrobust.recsys.sandbox import recbole_sandbox
from irrobust.recsys.training import _EpochStats, tce_drop_rate, tce_iteration_drop_rate, tce_keep_mask


@pytest.fixture(scope="module")
def units(small_split, tmp_path_factory):
    work = tmp_path_factory.mktemp("tr")
    cfg = RecsysConfig(
        epochs=4,
        eval_step=2,
        max_users=100,
        tce_max_drop=0.2,
        tce_ramp_epochs=2,
        rce_beta=0.5,
        batch_size=256,
        learning_rate=5e-3,
        methods=["standard", "tce", "tce_pairwise", "rce"],
        tce_ramp_iterations=20,
    )
    out = {}
    with recbole_sandbox(work):
        for m in ("standard", "tce", "tce_pairwise", "rce"):
            out[m] = prepare_unit(cfg, small_split, "ml-100k", "MF", m, work)
            out[m].trainer.tensorboard.close()
    return out


def test_tce_pairwise_drops_the_largest_losses(units):
    tr = units["tce_pairwise"].trainer
    losses = torch.tensor([0.1, 5.0, 0.3, 2.0, 0.2, 0.4, 0.5, 0.6, 0.7, 3.0])
    noise = torch.tensor([False, True, False, True, False, False, False, False, False, False])
    st = _EpochStats()
    w, denom = tr._pair_weights(losses, -losses, progress=2.0, stats=st, noise=noise)  # ramp done: 20% dropped
    assert denom == 8 and w.tolist() == [1, 0, 1, 1, 1, 1, 1, 1, 1, 0]
    assert (st.dropped, st.dropped_noise) == (2, 1)
    w_half, _ = tr._pair_weights(losses, -losses, progress=1.0, stats=_EpochStats(), noise=noise)
    assert int((w_half == 0).sum()) == 1  # 10% at half of the ramp
    assert tce_drop_rate(0, 0.2, 2) == 0.0


def test_rce_weight_is_detached_pair_likelihood_power_beta(units):
    tr = units["rce"].trainer
    margin = torch.tensor([-2.0, 0.0, 3.0])
    w, denom = tr._pair_weights(
        torch.nn.functional.softplus(-margin), margin, 0.0, _EpochStats(), torch.zeros(3, dtype=torch.bool)
    )
    torch.testing.assert_close(w, torch.sigmoid(margin) ** 0.5)
    assert denom == 3 and not w.requires_grad


def test_epochs_train_and_record_noise(units):
    for m in ("standard", "tce_pairwise", "rce"):
        unit = units[m]
        before = unit.trainer.per_user_metrics("valid")["Recall@20"].mean()
        for e in range(3):
            unit.trainer._train_epoch(unit.train_data, e)
        after = unit.trainer.per_user_metrics("valid")["Recall@20"].mean()
        assert after > before, m  # training on real data improves the ranking
        st = unit.trainer.epoch_stats[-1]
        assert st["n"] == unit.ctx.n_train  # an epoch visits every training interaction once
        share = st["n_noise"] / st["n"]
        assert share == pytest.approx(float(unit.ctx.noise_codes.numel()) / unit.ctx.n_train)
    t = units["tce_pairwise"].trainer.epoch_stats[-1]
    assert t["dropped"] == pytest.approx(0.2 * t["n"], rel=0.05)
    # injected items are dropped more often than clean ones once the model has learnt something
    assert t["dropped_noise"] / t["n_noise"] > (t["dropped"] - t["dropped_noise"]) / (t["n"] - t["n_noise"])


def test_interaction_batches_visit_every_training_pair_once_with_valid_negatives(units, small_split):
    tr = units["standard"].trainer
    ctx = tr.ctx
    batches = tr.interaction_batches()
    assert len(batches) == -(-ctx.n_train // 256) == len(units["standard"].train_data)  # RecBole's batch count
    users = torch.cat([u for u, _, _ in batches])
    pos = torch.cat([p for _, p, _ in batches])
    neg = torch.cat([n for _, _, n in batches])
    codes = torch.sort(users * ctx.n_items + pos).values
    assert torch.equal(codes, ctx.train_codes)  # every (user, positive) of the noisy train set exactly once
    assert not ctx.is_train(users, neg).any() and bool((neg >= 1).all()) and bool((neg < ctx.n_items).all())
    again = torch.cat([u for u, _, _ in tr.interaction_batches()])
    assert not torch.equal(users, again)  # reshuffled every epoch
    # negatives are uniform over the items outside the user's train set: for a heavy user, the chi-square
    # statistic of repeated draws over the allowed items stays below the 99.9 % quantile
    u = int(torch.argmax(ctx.indptr.diff()))
    draws = ctx.sample_negatives(torch.full((40000,), u, dtype=torch.long), torch.Generator().manual_seed(3))
    allowed = ctx.n_items - 1 - int(ctx.indptr[u + 1] - ctx.indptr[u])
    counts = torch.bincount(draws, minlength=ctx.n_items).double()
    counts = counts[counts > 0]
    assert counts.numel() == allowed
    exp = 40000 / allowed
    chi2 = float(((counts - exp) ** 2 / exp).sum())
    from scipy.stats import chi2 as chi2_dist

    assert chi2 < chi2_dist.ppf(0.999, allowed - 1)


def test_dense_membership_tables_equal_the_sorted_code_search(units, monkeypatch):
    ctx = units["standard"].trainer.ctx
    g = torch.Generator().manual_seed(0)
    users = torch.randint(0, ctx.n_users, (5000,), generator=g)
    items = torch.randint(0, ctx.n_items, (5000,), generator=g)
    users = torch.cat([users, ctx.train_users[:50]])
    items = torch.cat([items, ctx.indices[ctx.indptr[ctx.train_users[:50]]]])
    dense = (ctx.is_train(users, items), ctx.is_noise(users, items))
    assert "train_table" in ctx.extra and dense[0][-50:].all()
    monkeypatch.setattr(training, "_DENSE_LOOKUP_LIMIT", 0)
    ctx.extra.clear()
    sparse = (ctx.is_train(users, items), ctx.is_noise(users, items))
    assert "train_table" not in ctx.extra
    assert torch.equal(dense[0], sparse[0]) and torch.equal(dense[1], sparse[1])


# ---------------------------------------------------------------------------------------------------------------
# T-CE as published (pointwise BCE, Wang et al. WSDM 2021)
# ---------------------------------------------------------------------------------------------------------------
def test_tce_iteration_schedule_is_the_published_linspace():
    import numpy as np

    ramp = np.linspace(0, 0.2, 30000)
    for t in (0, 1, 7, 15000, 29998, 29999):
        assert tce_iteration_drop_rate(t, 0.2, 30000) == pytest.approx(ramp[t], abs=1e-12)
    assert tce_iteration_drop_rate(30000, 0.2, 30000) == 0.2 == tce_iteration_drop_rate(10**6, 0.2, 30000)


def test_tce_keep_mask_drops_only_the_highest_loss_positives():
    losses = torch.tensor([9.0, 0.1, 8.0, 7.0, 0.2, 6.0, 0.3, 5.0, 0.4, 4.0])
    labels = torch.tensor([0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0])
    keep = tce_keep_mask(losses, labels, 0.2)  # int(0.8 * 10) = 8 kept, 2 dropped
    assert keep.tolist() == [True, True, False, False, True, True, True, True, True, True]
    # negatives with the largest losses (9.0, 6.0) are kept: only positives are ever dropped
    assert keep[labels == 0].all()
    assert tce_keep_mask(losses, labels, 0.0).all()


def test_tce_pointwise_epoch_is_bce_over_positives_and_one_negative_each(units):
    unit = units["tce"]
    tr = unit.trainer
    ctx = tr.ctx
    batches = tr.pointwise_batches(tr._row_users, ctx.indices, torch.Generator().manual_seed(0))
    users = torch.cat([b[0] for b in batches])
    items = torch.cat([b[1] for b in batches])
    labels = torch.cat([b[2] for b in batches])
    assert all(len(b[0]) <= 256 for b in batches) and len(users) == 2 * ctx.n_train
    pos = labels == 1
    assert torch.equal(torch.sort(users[pos] * ctx.n_items + items[pos]).values, ctx.train_codes)
    assert not ctx.is_train(users[~pos], items[~pos]).any()  # negatives are outside the user's train set
    assert int(pos.sum()) == ctx.n_train  # exactly one negative per positive
    before = tr.validation_loss()
    for e in range(3):
        tr._train_epoch(None, e)
    assert tr.iteration == 3 * len(batches)
    st = tr.epoch_stats[-1]
    # the drop rate follows the iteration schedule (ramp of 20 iterations, reached in the first epoch here)
    assert st["drop_rate"] == pytest.approx(0.2)
    assert st["n"] == ctx.n_train  # stats count positives only
    assert st["dropped"] == pytest.approx(2 * ctx.n_train - int(0.8 * 256) * (len(batches) - 1) - int(0.8 * len(batches[-1][0])), abs=0)
    # the injected (random) items are dropped more often than clean ones
    assert st["dropped_noise"] / st["n_noise"] > (st["dropped"] - st["dropped_noise"]) / (st["n"] - st["n_noise"])
    assert tr.validation_loss() < before
    assert tr.validation_score() == pytest.approx(-tr.validation_loss(), rel=0.05)  # fresh negatives each time
