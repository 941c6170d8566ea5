"""Per-user full-ranking metrics: hand-computed values and agreement with RecBole's own evaluator."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from irrobust.recsys.config import RecsysConfig
from irrobust.recsys.experiment import prepare_unit
from irrobust.recsys.metrics import full_ranking_metrics
from irrobust.recsys.sandbox import recbole_sandbox


def test_hand_computed_recall_ndcg_with_mask():
    # item scores for one user: item1 5, item2 4, item3 3, item4 2, item5 1 (item 0 = padding)
    U = torch.tensor([[1.0]])
    items = torch.tensor([[9.0], [5.0], [4.0], [3.0], [2.0], [1.0]])
    out = full_ranking_metrics(U, items, torch.tensor([0]), mask=[[1]], targets=[[3, 5, 4]], ks=[2, 5])
    # after masking item 1 the ranking is 2,3,4,5 -> hits at ranks 2,3,4
    assert out["Recall@2"][0] == pytest.approx(1 / 3)
    assert out["Recall@5"][0] == pytest.approx(1.0)
    d = lambda r: 1 / math.log2(r + 1)  # noqa: E731
    assert out["NDCG@2"][0] == pytest.approx(d(2) / (d(1) + d(2)))  # IDCG over min(|T|, K) = 2
    assert out["NDCG@5"][0] == pytest.approx((d(2) + d(3) + d(4)) / (d(1) + d(2) + d(3)))


def test_paper_idcg_quirk_deflates_ndcg():
    U = torch.tensor([[1.0]])
    items = torch.tensor([[0.0], [3.0], [2.0], [1.0]])
    std = full_ranking_metrics(U, items, torch.tensor([0]), [[]], [[1, 2, 3]], ks=[1])
    paper = full_ranking_metrics(U, items, torch.tensor([0]), [[]], [[1, 2, 3]], ks=[1], paper_idcg=True)
    assert std["NDCG@1"][0] == 1.0
    assert paper["NDCG@1"][0] == pytest.approx(1 / (1 + 1 / math.log2(3) + 0.5))


def test_agrees_with_recbole_evaluator_on_validation(small_split, tmp_path):
    """Mean of our per-user valid Recall/NDCG@20 = RecBole's full-sort evaluator (which masks train items)."""
    cfg = RecsysConfig(epochs=2, eval_step=1, max_users=100, learning_rate=5e-3, batch_size=256, methods=["standard"])
    with recbole_sandbox(tmp_path):
        unit = prepare_unit(cfg, small_split, "ml-100k", "MF", "standard", tmp_path)
        unit.trainer._train_epoch(unit.train_data, 0)
        ours = unit.trainer.per_user_metrics("valid")
        theirs = unit.trainer.evaluate(unit.valid_data, load_best_model=False)
        unit.trainer.tensorboard.close()
    assert ours["Recall@20"].mean() > 0.01  # a trained model, not a trivial zero
    assert ours["Recall@20"].mean() == pytest.approx(theirs["recall@20"], abs=6e-5)
    assert ours["NDCG@20"].mean() == pytest.approx(theirs["ndcg@20"], abs=6e-5)
    assert ours["Recall@50"].mean() == pytest.approx(theirs["recall@50"], abs=6e-5)
    assert len(ours["Recall@20"]) == 100


def test_test_mask_includes_validation_items(small_split, tmp_path):
    cfg = RecsysConfig(epochs=2, eval_step=1, max_users=100, methods=["standard"])
    with recbole_sandbox(tmp_path):
        unit = prepare_unit(cfg, small_split, "ml-100k", "MF", "standard", tmp_path)
        unit.trainer.tensorboard.close()
    ctx = unit.ctx
    u0 = int(ctx.test.users[0])
    vpos = ctx.valid.users.tolist().index(u0)
    assert set(ctx.valid.targets[vpos]) <= set(ctx.test.mask[0])
    train_u = set(ctx.indices[ctx.indptr[u0] : ctx.indptr[u0 + 1]].tolist())
    assert set(ctx.test.mask[0]) == (train_u | set(ctx.valid.targets[vpos])) - set(ctx.test.targets[0])
    assert np.all(np.diff(ctx.test.users.numpy()) > 0)
    # an injected item that collides with a held-out item stays rankable (RecBole's convention)
    collide = [
        (k, u)
        for k, u in enumerate(ctx.test.users.tolist())
        if set(ctx.test.targets[k]) & set(ctx.indices[ctx.indptr[u] : ctx.indptr[u + 1]].tolist())
    ]
    assert collide  # rho = 0.3 on real data: some noise hits test items
    k, _ = collide[0]
    assert not set(ctx.test.targets[k]) & set(ctx.test.mask[k])
