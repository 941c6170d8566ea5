"""PLD's training step against its definition (Zhang et al., WWW 2025), on a tiny real ml-100k example."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

import irrobust.recsys.training as training
from irrobust.recsys.config import RecsysConfig
from irrobust.recsys.experiment import prepare_unit
from irrobust.recsys.sandbox import recbole_sandbox
from irrobust.recsys.training import final_embeddings, pld_probabilities, pld_select, sample_pool_offsets


def _chisq(counts: np.ndarray, probs: np.ndarray) -> float:
    """Chi-square goodness-of-fit p-value, merging categories with expected count < 5 into one bin."""
    n = counts.sum()
    exp = probs * n
    small = exp < 5
    if small.any():
        counts = np.append(counts[~small], counts[small].sum())
        exp = np.append(exp[~small], exp[small].sum())
    if len(exp) < 2:
        return 1.0
    return float(stats.chisquare(counts, exp * counts.sum() / exp.sum()).pvalue)


@pytest.fixture(scope="module")
def pld_unit(small_split, tmp_path_factory):
    """A PLD trainer on 100 real users after 2 epochs of training (real, non-trivial candidate losses)."""
    work = tmp_path_factory.mktemp("pld")
    cfg = RecsysConfig(
        epochs=4, eval_step=2, pld_warmup_epochs=2, learning_rate=5e-3, max_users=100, batch_size=256, methods=["pld"]
    )
    with recbole_sandbox(work):
        unit = prepare_unit(cfg, small_split, "ml-100k", "MF", "pld", work)
        for e in range(2):
            unit.trainer._train_epoch(unit.train_data, e)
        unit.trainer.tensorboard.close()
    return unit


def test_sampled_positive_follows_softmax_of_negative_loss(pld_unit):
    tr = pld_unit.trainer
    tr.generator.manual_seed(123)
    users, pool, neg = tr.draw_batch(256)
    u_all, i_all = final_embeddings(tr.model)
    losses = tr.candidate_losses(u_all, i_all, users, pool, neg)
    # the losses are the BPR losses softplus(s_un - s_ui) of each candidate
    s_pool = (u_all[users][:, None, :] * i_all[pool]).sum(-1)
    s_neg = (u_all[users] * i_all[neg]).sum(-1)
    torch.testing.assert_close(losses, torch.nn.functional.softplus(s_neg[:, None] - s_pool).detach())
    # pick a real user whose candidate distribution is far from degenerate and far from uniform
    probs = pld_probabilities(losses, 0.1)
    ent = -(probs * probs.clamp_min(1e-12).log()).sum(1)
    row = int(torch.argmin((ent - 0.8 * np.log(5)).abs()))
    p = probs[row].double().numpy()
    n = 20_000
    g = torch.Generator().manual_seed(2024)
    draws = pld_select(losses[row].expand(n, -1), 0.1, generator=g)
    counts = np.bincount(draws.numpy(), minlength=5)
    assert _chisq(counts, p) > 0.01
    # the same test has power: it rejects the uniform distribution and a wrong temperature
    assert _chisq(counts, np.full(5, 0.2)) < 1e-6
    assert _chisq(counts, pld_probabilities(losses[row], 1.0).double().numpy()) < 1e-6


def test_warmup_is_uniform_then_resampling_prefers_low_loss(pld_unit, monkeypatch):
    tr = pld_unit.trainer
    seen = []

    def recording_select(losses, tau, uniform=False, generator=None):
        choice = pld_select(losses, tau, uniform=uniform, generator=generator)
        seen.append((uniform, losses.clone(), choice.clone()))
        return choice

    monkeypatch.setattr(training, "pld_select", recording_select)
    assert tr.in_warmup(0) and tr.in_warmup(1) and not tr.in_warmup(2)
    tr._train_epoch(pld_unit.train_data, 1)  # last warm-up epoch
    tr._train_epoch(pld_unit.train_data, 2)  # first resampling epoch
    warm = [s for s in seen if s[0]]
    post = [s for s in seen if not s[0]]
    assert warm and post

    def argmin_share(batches):
        hit = sum(int((c == loss.argmin(1)).sum()) for _, loss, c in batches)
        return hit / sum(len(c) for _, _, c in batches)

    # warm-up: the choice ignores the losses (P[choose the lowest-loss candidate] = 1/k) and is uniform over slots
    n_warm = sum(len(c) for _, _, c in warm)
    k_hits = round(argmin_share(warm) * n_warm)
    assert stats.binomtest(k_hits, n_warm, 0.2).pvalue > 0.001
    slot_counts = np.bincount(torch.cat([c for _, _, c in warm]).numpy(), minlength=5)
    assert _chisq(slot_counts, np.full(5, 0.2)) > 0.001
    # after warm-up: it matches softmax(-loss/tau), which favours the lowest-loss candidate
    n_post = sum(len(c) for _, _, c in post)
    assert stats.binomtest(round(argmin_share(post) * n_post), n_post, 0.2, alternative="greater").pvalue < 1e-6
    expected = sum(float(pld_probabilities(loss, 0.1).max(1).values.sum()) for _, loss, _ in post)
    observed = sum(int((c == pld_probabilities(loss, 0.1).argmax(1)).sum()) for _, loss, c in post)
    assert abs(observed - expected) < 4 * np.sqrt(n_post * 0.25)


def test_pool_is_without_replacement_and_uniform():
    g = torch.Generator().manual_seed(0)
    off = sample_pool_offsets(torch.full((30_000,), 4), 2, g)
    assert (off[:, 0] != off[:, 1]).all() and off.max() < 4
    pairs = (torch.minimum(off[:, 0], off[:, 1]) * 4 + torch.maximum(off[:, 0], off[:, 1])).numpy()
    counts = np.array([np.sum(pairs == a * 4 + b) for a in range(4) for b in range(a + 1, 4)])
    assert stats.chisquare(counts).pvalue > 0.001
    small = sample_pool_offsets(torch.tensor([2, 1, 7]), 5, g)
    assert small[0].max() < 2 and (small[1] == 0).all() and len(set(small[2].tolist())) == 5


def test_pool_items_are_the_users_noisy_train_positives_and_negatives_are_not(pld_unit):
    tr = pld_unit.trainer
    users, pool, neg = tr.draw_batch(512)
    assert tr.ctx.is_train(users[:, None].expand_as(pool), pool).all()
    assert not tr.ctx.is_train(users, neg).any()
    assert (neg > 0).all()


def test_epoch_statistics_count_the_sampled_noise(pld_unit):
    """The per-epoch book-keeping equals a recount: one sampled positive per user draw, pools of k."""
    tr = pld_unit.trainer
    tr._train_epoch(pld_unit.train_data, 3)
    e = tr.epoch_stats[-1]
    assert e["resampled"] and e["n"] == tr.ctx.n_train and e["pool"] == e["n"] * tr.k  # irrobust: noisy rows
    assert 0 < e["n_noise"] < e["n"] and 0 < e["pool_noise"] < e["pool"]
    share = float(tr.ctx.noise_codes.numel()) / tr.ctx.n_train
    assert abs(e["pool_noise"] / e["pool"] - share) < 0.05  # pools are drawn from the noisy train lists


def test_gradient_factor_of_the_chosen_pair_vs_a_uniform_pick(pld_unit, monkeypatch):
    """Issue 13: PLD trains on low-loss pairs, whose BPR gradient factor sigma(s_neg - s_pos) is smaller than a
    uniform pick's; the per-epoch diagnostic must show it (and show no gap for a uniform pick)."""
    tr = pld_unit.trainer
    for epoch in range(2, 6):  # four resampling epochs (standalone: chosen/uniform 0.89, 0.67, 0.47, 0.37)
        tr._train_epoch(pld_unit.train_data, epoch)
    e = tr.epoch_stats[-1]
    assert e["resampled"] and e["gf_n"] == e["n"]
    assert e["grad_factor_chosen"] < 0.6 * e["grad_factor_uniform"]
    monkeypatch.setattr(tr, "resample", False)  # the Origin sampler: the chosen pair is a uniform pick
    tr._train_epoch(pld_unit.train_data, 6)
    u = tr.epoch_stats[-1]
    assert u["grad_factor_chosen"] == pytest.approx(u["grad_factor_uniform"], rel=0.05)


def test_lightgcn_propagation_matches_recbole(small_split, tmp_path):
    cfg = RecsysConfig(epochs=2, eval_step=1, max_users=100, methods=["standard"])
    with recbole_sandbox(tmp_path):
        unit = prepare_unit(cfg, small_split, "ml-100k", "LightGCN", "standard", tmp_path)
        unit.trainer.tensorboard.close()
    model = unit.model
    with torch.no_grad():
        model.user_embedding.weight.normal_(0, 0.1)
        model.item_embedding.weight.normal_(0, 0.1)
    ours = final_embeddings(model)
    ref = model.forward()
    torch.testing.assert_close(ours[0], ref[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ours[1], ref[1], rtol=1e-5, atol=1e-6)
    (ours[0][:50].sum() + ours[1][:70].pow(2).sum()).backward()
    g_ours = model.user_embedding.weight.grad.clone()
    model.zero_grad()
    (ref[0][:50].sum() + ref[1][:70].pow(2).sum()).backward()
    torch.testing.assert_close(g_ours, model.user_embedding.weight.grad, rtol=1e-4, atol=1e-6)
