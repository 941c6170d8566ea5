"""protocol: reference (issue 13 item 5): the preset, selection only among epochs 40/60/80/100, the reference epoch
length, N(0, 0.1) initialisation, and PLD's per-epoch gradient-factor diagnostic."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from irrobust.recsys.config import REFERENCE_PRESET, RecsysConfig
from irrobust.recsys.experiment import _records_to_rows, prepare_unit
from irrobust.recsys.sandbox import recbole_sandbox
from irrobust.recsys.training import final_embeddings


def test_reference_preset_values():
    cfg = RecsysConfig(protocol="reference", methods=["standard", "pld", "uniform"])
    assert (cfg.epochs, cfg.learning_rate, cfg.init_std) == (100, 1e-3, 0.1)
    assert (cfg.eval_step, cfg.select_from_epoch, cfg.pld_epoch_rows) == (20, 40, "clean")
    assert cfg.lr("LightGCN") == cfg.lr("MF") == 1e-3
    assert {k: getattr(cfg, k) for k in REFERENCE_PRESET} == REFERENCE_PRESET
    irr = RecsysConfig()
    assert (irr.protocol, irr.init_std, irr.select_from_epoch, irr.pld_epoch_rows) == ("irrobust", None, 0, "noisy")


@pytest.mark.parametrize(
    "bad",
    [{"epochs": 40}, {"learning_rate_by_backbone": {"LightGCN": 0.01}}, {"eval_step": 2}, {"init_std": 0.01},
     {"pld_epoch_rows": "noisy"}, {"select_from_epoch": 0}],
)
def test_reference_preset_cannot_be_overridden(bad):
    with pytest.raises(ValidationError, match="protocol 'reference' fixes"):
        RecsysConfig(protocol="reference", **bad)
    RecsysConfig(protocol="reference", **{k: REFERENCE_PRESET[k] for k in bad})  # the preset's own value is fine


def test_select_from_epoch_must_leave_an_eligible_validation():
    with pytest.raises(ValidationError, match="eligible"):
        RecsysConfig(epochs=30, eval_step=20, select_from_epoch=40)


@pytest.fixture(scope="module")
def ref_units(small_split, tmp_path_factory):
    work = tmp_path_factory.mktemp("ref")
    cfg = RecsysConfig(protocol="reference", max_users=100, batch_size=256, methods=["standard", "pld", "uniform"])
    with recbole_sandbox(work):
        out = {m: prepare_unit(cfg, small_split, "ml-100k", "MF", m, work) for m in ("standard", "pld", "uniform")}
        lg = prepare_unit(cfg, small_split, "ml-100k", "LightGCN", "pld", work)
    for u in [*out.values(), lg]:
        u.trainer.tensorboard.close()
        u.init = {k: v.detach().clone() for k, v in u.model.state_dict().items()}  # before any test trains it
    return cfg, out, lg


def test_selection_only_among_epochs_40_to_100(ref_units, monkeypatch):
    """The best validation is at epoch 20 (ineligible) and scores fall after 60: the preset must pick 60, train all
    100 epochs (no early stop) and end with the weights of epoch 60."""
    cfg, units, _ = ref_units
    tr = units["standard"].trainer
    trained: list[int] = []
    scores = {20: 0.9, 40: 0.3, 60: 0.5, 80: 0.4, 100: 0.2}

    def fake_epoch(train_data, epoch_idx, *a, **k):
        trained.append(epoch_idx + 1)
        with torch.no_grad():
            tr.model.user_embedding.weight.fill_(float(epoch_idx + 1))
        return 0.0

    monkeypatch.setattr(tr, "_train_epoch", fake_epoch)
    monkeypatch.setattr(tr, "validation_score", lambda: scores[trained[-1]])
    tr.valid_history.clear()
    tr.fit_select(cfg.epochs, cfg.eval_step, cfg.select_from_epoch, cfg.stopping_step)
    assert trained == list(range(1, 101))
    assert [e for e, _ in tr.valid_history] == [20, 40, 60, 80, 100]
    assert tr.best_epoch == 60 and tr.best_score == 0.5
    assert float(tr.model.user_embedding.weight.detach()[1, 0]) == 60.0  # the selected model is loaded back (from memory)


def test_irrobust_early_stopping_counts_eligible_validations(ref_units, monkeypatch):
    _, units, _ = ref_units
    tr = units["uniform"].trainer
    trained: list[int] = []
    monkeypatch.setattr(tr, "_train_epoch", lambda *a, **k: trained.append(a[1] + 1))
    monkeypatch.setattr(tr, "validation_score", lambda: {2: 0.1, 4: 0.3}.get(trained[-1], 0.2))
    tr.fit_select(40, 2, select_from=0, stopping_step=2)
    assert tr.best_epoch == 4 and trained[-1] == 10  # 6, 8, 10 fail to improve: 3 > stopping_step -> stop


def test_tied_scores_keep_the_earliest_epoch(ref_units, monkeypatch):
    _, units, _ = ref_units
    tr = units["uniform"].trainer
    trained: list[int] = []
    monkeypatch.setattr(tr, "_train_epoch", lambda *a, **k: trained.append(a[1] + 1))
    monkeypatch.setattr(tr, "validation_score", lambda: 0.5)
    tr.fit_select(100, 20, select_from=40, stopping_step=4)
    assert tr.best_epoch == 40


def test_reference_init_is_normal_0_1_and_shared_by_methods(ref_units):
    _, units, lg = ref_units
    w = {m: u.init["user_embedding.weight"] for m, u in units.items()}
    assert torch.equal(w["standard"], w["pld"]) and torch.equal(w["pld"], w["uniform"])  # paired start
    for table in (w["pld"], units["pld"].init["item_embedding.weight"][1:], lg.init["item_embedding.weight"]):
        assert float(table.std()) == pytest.approx(0.1, rel=0.05) and abs(float(table.mean())) < 0.01


def test_reference_epoch_length_is_clean_training_size(ref_units, small_split):
    _, units, _ = ref_units
    for m in ("pld", "uniform"):
        tr = units[m].trainer
        ctx = tr.ctx
        assert ctx.n_noise == int(small_split.train.noise.sum()) > 0 and ctx.n_clean == ctx.n_train - ctx.n_noise
        sizes = tr.epoch_sizes()
        assert sum(sizes) == ctx.n_clean and max(sizes) == 256 and len(sizes) == -(-ctx.n_clean // 256)
        drawn: list[int] = []
        real = tr.draw_batch
        tr.draw_batch = lambda b=None, d=drawn, r=real: (d.append(b), r(b))[1]  # type: ignore[method-assign]
        try:
            tr._train_epoch(None, 0)
        finally:
            del tr.draw_batch
        assert drawn == sizes and tr.epoch_stats[-1]["n"] == ctx.n_clean  # users drawn = clean rows
    # the standard epoch stays interaction-wise over the noisy training set
    std = units["standard"].trainer
    std._train_epoch(None, 0)
    assert std.epoch_stats[-1]["n"] == std.ctx.n_train


def test_gradient_factor_diagnostic_chosen_vs_uniform(ref_units):
    """PLD's chosen pair vs the pool mean: equal in warm-up, smaller once it resamples with tau = 0.1; equal for
    Origin (a uniform pick) throughout. Recomputed from the candidate losses of one batch."""
    _, units, _ = ref_units
    pld, uni = units["pld"].trainer, units["uniform"].trainer
    for tr in (pld, uni):
        tr.epoch_stats.clear()
        for e in range(8):
            tr._train_epoch(None, e)
    warm, late = pld.epoch_stats[0], pld.epoch_stats[-1]
    assert warm["grad_factor_chosen"] == pytest.approx(warm["grad_factor_uniform"], abs=0.01)
    assert late["grad_factor_chosen"] < late["grad_factor_uniform"]  # (the size of the gap: test_pld.py)
    for e in uni.epoch_stats:
        assert e["grad_factor_chosen"] == pytest.approx(e["grad_factor_uniform"], abs=0.01)
    # the recorded uniform factor is the pool's mean sigma(s_neg - s_pos) = 1 - exp(-loss)
    users, pool, neg = pld.draw_batch(64)
    cand = pld.candidate_losses(*final_embeddings(pld.model), users, pool, neg)
    u_all, i_all = pld.model.user_embedding.weight, pld.model.item_embedding.weight
    s_pos = (u_all[users][:, None, :] * i_all[pool]).sum(-1)
    s_neg = (u_all[users] * i_all[neg]).sum(-1)
    torch.testing.assert_close(-torch.expm1(-cand), torch.sigmoid(s_neg[:, None] - s_pos).detach())
    # and the per-epoch values reach the results table
    rec = {"users": [], "metrics": {}, "stats": {}, "epoch_stats": pld.epoch_stats}
    rows = _records_to_rows(rec, "ml-100k", "MF", "pld", 0.3, 1)
    epochs = {(r[4], r[5]): r[6] for r in rows if r[2] == "recsys-noise-epoch"}
    assert epochs[("8", "grad_factor_chosen")] == late["grad_factor_chosen"]
    assert ("8", "grad_factor_uniform") in epochs and ("1", "drop_rate") not in epochs
