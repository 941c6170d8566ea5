"""Full-ranking Recall@K / NDCG@K per user, with history masking.

Every item is ranked for every evaluated user; items in the user's mask (training items, and at
test time also validation items) are removed from the ranking. Definitions (binary relevance,
T_u = the user's held-out items, rank r starting at 1):

* ``Recall@K = |top-K ∩ T_u| / |T_u|``
* ``NDCG@K = DCG@K / IDCG@K`` with ``DCG@K = Σ_{r<=K, item_r ∈ T_u} 1/log2(r+1)`` and the standard
  ``IDCG@K = Σ_{r=1}^{min(|T_u|, K)} 1/log2(r+1)``.

Paper-code quirk: the PLD authors' evaluation sums IDCG over **all** |T_u| test items instead
of ``min(|T_u|, K)``, which deflates NDCG for users with more than K test items. That variant is
available with ``paper_idcg=True`` only for comparing with the paper's numbers; irrobust
reports the standard definition.

Masking uses the *noisy* training set (the only training set a deployed system would know), minus
the user's targets: a held-out item that is also an injected training item (the authors' protocol
allows such collisions) is **not** masked. This is RecBole's convention (history = used items −
positives), so irrobust's means equal RecBole's evaluator (tested). Deviation: the PLD authors' code
masks it, making that item unretrievable; ``noise_excludes_heldout=True`` avoids collisions altogether.

Example:
    >>> import torch
    >>> U = torch.tensor([[1.0, 0.0]]); I = torch.tensor([[0, 0], [3.0, 0], [2.0, 0], [1.0, 0]])
    >>> m = full_ranking_metrics(U, I, torch.tensor([0]), mask=[[1]], targets=[[2, 3]], ks=[1, 2])
    >>> m["Recall@1"].tolist(), m["Recall@2"].tolist()
    ([0.5], [1.0])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["full_ranking_metrics"]


def _rows_to_coo(rows: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    lens = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    r = np.repeat(np.arange(len(rows)), lens)
    c = np.fromiter((x for row in rows for x in row), dtype=np.int64, count=int(lens.sum()))
    return r, c


@torch.no_grad()
def full_ranking_metrics(
    user_emb: torch.Tensor,
    item_emb: torch.Tensor,
    users: torch.Tensor,
    mask: Sequence[Sequence[int]],
    targets: Sequence[Sequence[int]],
    ks: Sequence[int] = (20, 50),
    batch_size: int = 1024,
    exclude_items: Sequence[int] = (0,),
    paper_idcg: bool = False,
) -> dict[str, np.ndarray]:
    """Per-user Recall@K and NDCG@K over all items (dot-product scores).

    Args:
        user_emb, item_emb: final embeddings; score(u, i) = user_emb[u] · item_emb[i].
        users: user row indices to evaluate (1-D long tensor).
        mask: for each evaluated user (same order), item indices removed from the ranking.
        targets: for each evaluated user, the relevant held-out item indices (non-empty).
        ks: cut-offs.
        batch_size: users per scoring batch.
        exclude_items: item indices never ranked (RecBole's padding item 0).
        paper_idcg: use the PLD code's IDCG over all targets (see module docstring).

    Returns:
        ``{"Recall@K": array, "NDCG@K": array}`` with one value per evaluated user.

    Example:
        >>> import torch
        >>> U = torch.eye(2); I = torch.tensor([[0.0, 0], [1, 0], [0, 1], [0.5, 0.5]])
        >>> out = full_ranking_metrics(U, I, torch.tensor([0, 1]), [[], [2]], [[1], [3]], ks=[1])
        >>> out["NDCG@1"].tolist()
        [1.0, 1.0]
    """
    n = len(users)
    if len(mask) != n or len(targets) != n:
        raise ValueError("mask and targets need one entry per evaluated user")
    if any(len(t) == 0 for t in targets):
        raise ValueError("every evaluated user needs at least one target item")
    kmax = max(ks)
    n_items = item_emb.shape[0]
    kmax_eff = min(kmax, n_items)
    disc = 1.0 / torch.log2(torch.arange(2, kmax + 2, dtype=torch.float64))
    cum_disc = torch.cumsum(disc, 0)
    out = {f"{m}@{k}": np.zeros(n) for k in ks for m in ("Recall", "NDCG")}
    excl = torch.as_tensor(list(exclude_items), dtype=torch.long)
    for start in range(0, n, batch_size):
        sl = slice(start, min(start + batch_size, n))
        ub = users[sl]
        scores = user_emb[ub] @ item_emb.T
        b = scores.shape[0]
        mr, mc = _rows_to_coo(mask[sl])
        if len(mr):
            scores[torch.from_numpy(mr), torch.from_numpy(mc)] = -torch.inf
        if len(excl):
            scores[:, excl] = -torch.inf
        top = torch.topk(scores, kmax_eff, dim=1).indices
        rel = torch.zeros(b, n_items, dtype=torch.bool)
        tr, tc = _rows_to_coo(targets[sl])
        rel[torch.from_numpy(tr), torch.from_numpy(tc)] = True
        hits = rel.gather(1, top).to(torch.float64)
        if kmax_eff < kmax:
            hits = torch.nn.functional.pad(hits, (0, kmax - kmax_eff))
        n_rel = torch.as_tensor([len(t) for t in targets[sl]], dtype=torch.float64)
        for k in ks:
            h = hits[:, :k]
            out[f"Recall@{k}"][sl] = (h.sum(1) / n_rel).numpy()
            dcg = (h * disc[:k]).sum(1)
            if paper_idcg:
                idcg = torch.cumsum(1.0 / torch.log2(torch.arange(2, int(n_rel.max()) + 2, dtype=torch.float64)), 0)
                idcg = idcg[(n_rel - 1).long()]
            else:
                idcg = cum_disc[(torch.clamp(n_rel, max=k) - 1).long()]
            out[f"NDCG@{k}"][sl] = (dcg / idcg).numpy()
    return out
