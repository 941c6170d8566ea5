"""T-CE / R-CE adaptations to BPR and the shared training loop."""

from __future__ import annotations

import pytest
import torch

from irrobust.recsys.config import RecsysConfig
from irrobust.recsys.experiment import prepare_unit
from irrobust.recsys.sandbox import recbole_sandbox
from irrobust.recsys.training import _EpochStats, tce_drop_rate


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
        methods=["standard", "tce", "rce"],
    )
    out = {}
    with recbole_sandbox(work):
        for m in ("standard", "tce", "rce"):
            out[m] = prepare_unit(cfg, small_split, "ml-100k", "MF", m, work)
            out[m].trainer.tensorboard.close()
    return out


def test_tce_drops_the_largest_losses(units):
    tr = units["tce"].trainer
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
    for m in ("standard", "tce", "rce"):
        unit = units[m]
        before = unit.trainer.per_user_metrics("valid")["Recall@20"].mean()
        for e in range(3):
            unit.trainer._train_epoch(unit.train_data, e)
        after = unit.trainer.per_user_metrics("valid")["Recall@20"].mean()
        assert after > before, m  # training on real data improves the ranking
        st = unit.trainer.epoch_stats[-1]
        assert st["n"] == unit.ctx.n_train  # RecBole's loader visits every training interaction once per epoch
        share = st["n_noise"] / st["n"]
        assert share == pytest.approx(float(unit.ctx.noise_codes.numel()) / unit.ctx.n_train)
    t = units["tce"].trainer.epoch_stats[-1]
    assert t["dropped"] == pytest.approx(0.2 * t["n"], rel=0.05)
    # injected items are dropped more often than clean ones once the model has learnt something
    assert t["dropped_noise"] / t["n_noise"] > (t["dropped"] - t["dropped_noise"]) / (t["n"] - t["n_noise"])
