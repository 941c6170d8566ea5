"""RecBole trainers for noisy implicit feedback: standard BPR, T-CE, R-CE, PLD and the authors' Origin baseline.

All trainers subclass RecBole's :class:`recbole.trainer.Trainer` (optimiser construction, NaN check) but
not its ``fit`` loop: :meth:`NoiseAwareTrainer.fit_select` trains, validates every ``eval_step`` epochs,
selects among eligible validations (``select_from``; the PLD reference: epochs 40, 60, 80, 100) with early
stopping, and keeps the best model in memory. They override ``_train_epoch`` (the loss / sampling) and use
irrobust's per-user full-ranking evaluator, so validation and test use the same code. They work on
RecBole's ``BPR`` (MF trained with BPR) and ``LightGCN`` models.

Shared objective (every method, so that only the denoising differs): for a pair (u, i, n)
``ℓ = softplus(s_un − s_ui)`` (BPR) plus ``λ (mean‖e_u‖² + mean‖e_i‖² + mean‖e_n‖²)`` on the ego
(layer-0) embeddings, λ = ``reg_weight`` (PLD: 1e-4). Optimiser and weight decay come from the
RecBole config (PLD: AdamW, lr 1e-3, decoupled weight decay 0.01). Every pairwise method (standard, T-CE pairwise,
R-CE, PLD, uniform) takes its gradient step through one function, :meth:`NoiseAwareTrainer._bpr_step` (methods differ
only in the pairs they pass and their per-pair weights, :meth:`NoiseAwareTrainer._pair_weights`); pointwise T-CE
shares its ego-embedding L2 term and optimiser step.

* :class:`StandardTrainer`: interaction-wise epochs (each epoch visits every training interaction
  once, shuffled, in ``ceil(#train / B)`` batches, one uniform negative not in the user's train set);
  mean BPR loss. The batches come from :meth:`NoiseAwareTrainer.interaction_batches`, a vectorised
  sampler with the same distribution as RecBole's ``TrainDataLoader`` + uniform negative sampler,
  which it replaces because RecBole's per-row ``Interaction`` indexing and negative sampling cost
  more than the MF training step itself (ml-100k, 41 batches, 1 thread: 0.13 s/epoch for the
  loader vs 0.12 s for forward + backward + AdamW).
* :class:`TCEPointwiseTrainer` (``tce``): T-CE as published (Wang et al., "Denoising Implicit Feedback for
  Recommendation", WSDM 2021; authors' ``T_CE``): pointwise BCE over every positive and one negative each,
  drop the highest-loss *positives* of each batch at the rate ``r(t)`` of an iteration schedule (linear over
  30,000 iterations), model selection on the validation loss.
* :class:`TCETrainer` (``tce_pairwise``): the truncation applied to BPR pairs: within each batch the
  ``r(t)·B`` pairs with the largest BPR loss are dropped, ``r(t) = r_max · min(1, t / T)`` with t in
  (fractional) epochs; it mixes noisy positives with hard negatives.
* :class:`RCETrainer`: reweighted loss of Wang et al. (WSDM 2021) adapted to BPR: each pair's loss is
  multiplied by ``w = σ(s_ui − s_un)^β`` (detached), i.e. the BPR likelihood of the pair, which equals
  ``exp(−β ℓ)``. Deviation: the original weights the positive's BCE by ``σ(s_ui)^β``; with a pairwise
  loss the pair likelihood is the natural counterpart.
* :class:`PLDTrainer`: Zhang et al., "Personalized Denoising Implicit Feedback for Robust
  Recommender System", WWW 2025 (arXiv 2502.00348), as in the authors' ``PLDCFTrainer``: per batch
  B users uniformly with replacement, a pool of k positives per user (without replacement; with
  replacement if the user has fewer than k), **one** uniform negative per user shared by the pool,
  candidate BPR losses without gradient, one positive drawn from ``softmax(−ℓ/τ)``
  (:func:`pld_select`), a gradient step on (u, i*, n). An epoch is ``ceil(#train / B)`` batches.
  During the first ``warmup_epochs`` the positive is drawn uniformly from the pool.
  Implementation choice: the candidate losses are computed from the same forward pass as the
  gradient step (detached), i.e. under the same parameters as a separate no-grad forward, so a
  LightGCN batch costs one propagation, not two; the pool/loss computation is one batched
  (B×k) gather-and-dot.
* ``uniform`` (``PLDTrainer(resample=False)``): PLD's user-uniform sampler with a uniformly drawn
  pool positive throughout -- an ablation that separates PLD's sampling scheme from its
  loss-based resampling (it is what the authors' "Origin" trainer does, per papers.md §4.1 step 7).

Every trainer records, per epoch, how much of the gradient weight went to injected noise and the mean BPR
gradient factor ``σ(s_neg − s_pos)`` of the pairs it trained on (PLD/Origin also that of a uniform pick from
the pool) in ``epoch_stats``, which the experiment turns into noise-retention statistics and per-epoch rows.
Model selection is :meth:`NoiseAwareTrainer.fit_select` (best model kept in memory; nothing is saved to or
loaded from disk), not RecBole's ``fit``.

Example:
    >>> import torch
    >>> losses = torch.tensor([[0.1, 0.2, 3.0]])
    >>> [[round(p, 3) for p in row] for row in pld_probabilities(losses, tau=0.1).tolist()]
    [[0.731, 0.269, 0.0]]
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from irrobust.errors import ModelError
from irrobust.recsys import compat  # noqa: F401  (must precede recbole imports)
from irrobust.recsys.metrics import full_ranking_metrics

from recbole.trainer import Trainer  # noqa: E402  isort: skip

__all__ = [
    "EvalData",
    "NoiseAwareTrainer",
    "PLDTrainer",
    "RCETrainer",
    "StandardTrainer",
    "TCETrainer",
    "TrainContext",
    "final_embeddings",
    "pld_probabilities",
    "pld_select",
    "sample_pool_offsets",
    "TCEPointwiseTrainer",
    "bpr_gradient_factor",
    "bpr_loss",
    "epoch_batch_sizes",
    "tce_drop_rate",
    "tce_iteration_drop_rate",
    "tce_keep_mask",
    "keep_smallest",
]


def epoch_batch_sizes(rows: int, batch_size: int) -> list[int]:
    """Batch sizes of an epoch over ``rows`` rows: full batches and a smaller last one (a DataLoader's split).

    Example:
        >>> epoch_batch_sizes(5000, 2048)
        [2048, 2048, 904]
    """
    b = max(1, batch_size)
    sizes = [b] * (rows // b)
    if rows % b:
        sizes.append(rows % b)
    return sizes or [min(b, max(rows, 1))]


# ---------------------------------------------------------------------------------------------
# pure functions (tested directly)
# ---------------------------------------------------------------------------------------------
def pld_probabilities(losses: torch.Tensor, tau: float) -> torch.Tensor:
    """PLD's sampling distribution over each row's candidates: ``softmax(−loss / τ)``.

    Example:
        >>> pld_probabilities(torch.tensor([[1.0, 1.0]]), 0.1).tolist()
        [[0.5, 0.5]]
    """
    return torch.softmax(-losses / tau, dim=-1)


def pld_select(
    losses: torch.Tensor, tau: float, uniform: bool = False, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Draw one candidate index per row: from ``softmax(−loss/τ)``, or uniformly during warm-up.

    Args:
        losses: ``(B, k)`` candidate losses (no gradient needed).
        tau: temperature τ (PLD default 0.1).
        uniform: warm-up mode -- ignore the losses and draw uniformly from the k candidates.
        generator: torch RNG for reproducibility.

    Returns:
        ``(B,)`` long tensor of chosen column indices.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> pld_select(torch.tensor([[0.0, 50.0], [50.0, 0.0]]), 0.1, generator=g).tolist()
        [0, 1]
    """
    b, k = losses.shape
    if uniform:
        return torch.randint(0, k, (b,), generator=generator, device=losses.device)
    probs = pld_probabilities(losses.detach().to(torch.float64), tau)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


def sample_pool_offsets(deg: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """k positions per row in ``[0, deg)``: without replacement when ``deg >= k`` (vectorised Floyd), else with.

    Floyd's algorithm draws a uniformly random k-subset in k steps: for ``j = deg−k … deg−1`` draw
    ``t ~ U{0..j}`` and take ``j`` instead if ``t`` was already taken.

    Example:
        >>> g = torch.Generator().manual_seed(1)
        >>> off = sample_pool_offsets(torch.tensor([10, 3]), 5, g)
        >>> len(set(off[0].tolist())), bool((off[1] < 3).all())
        (5, True)
    """
    b = deg.shape[0]
    out = torch.empty(b, k, dtype=torch.long)
    for c in range(k):
        j = deg - k + c
        t = torch.floor(torch.rand(b, generator=generator, dtype=torch.float64) * (j + 1).clamp(min=1)).long()
        dup = (out[:, :c] == t[:, None]).any(dim=1) if c else torch.zeros(b, dtype=torch.bool)
        out[:, c] = torch.where(dup, j, t)
    small = deg < k
    if small.any():
        r = torch.rand(int(small.sum()), k, generator=generator, dtype=torch.float64)
        out[small] = torch.floor(r * deg[small, None]).long()
    return out


def tce_iteration_drop_rate(iteration: int, max_drop: float, ramp_iterations: int) -> float:
    """Published T-CE schedule: ``linspace(0, max_drop, ramp)[iteration]`` while ``iteration < ramp``, then ``max_drop``.

    ``iteration`` counts training batches from 0 (Wang et al.'s ``drop_rate_schedule(count)``, exponent 1).

    Example:
        >>> tce_iteration_drop_rate(0, 0.2, 3), tce_iteration_drop_rate(1, 0.2, 3), tce_iteration_drop_rate(9, 0.2, 3)
        (0.0, 0.1, 0.2)
    """
    if iteration >= ramp_iterations:
        return max_drop
    if ramp_iterations <= 1:
        return max_drop
    return max_drop * max(0, iteration) / (ramp_iterations - 1)


def bpr_loss(s_pos: torch.Tensor, s_neg: torch.Tensor) -> torch.Tensor:
    """Per-pair BPR loss ``softplus(s_neg − s_pos)`` (broadcasting: a pool of positives against one negative).

    Example:
        >>> round(float(bpr_loss(torch.tensor(0.0), torch.tensor(0.0))), 4)
        0.6931
    """
    return F.softplus(s_neg - s_pos)


def keep_smallest(values: torch.Tensor, n_keep: int) -> torch.Tensor:
    """Bool mask of the ``n_keep`` smallest ``values`` (stable: ties keep the earlier rows); T-CE's truncation.

    Example:
        >>> keep_smallest(torch.tensor([3.0, 1.0, 2.0, 1.0]), 2).tolist()
        [False, True, False, True]
    """
    keep = torch.zeros(values.numel(), dtype=torch.bool, device=values.device)
    keep[torch.argsort(values, stable=True)[:n_keep]] = True
    return keep


def tce_keep_mask(losses: torch.Tensor, labels: torch.Tensor, drop_rate: float) -> torch.Tensor:
    """Which rows of a pointwise batch T-CE keeps: the ``int((1 − r)·n)`` smallest of ``loss · label``.

    Negatives (label 0) sort first, so only the highest-loss **positives** are dropped; as published, the
    number dropped is ``n − int((1 − r) n)`` of the whole batch (positives and negatives).

    Example:
        >>> keep = tce_keep_mask(torch.tensor([5.0, 0.1, 9.0, 2.0]), torch.tensor([1.0, 1.0, 0.0, 1.0]), 0.25)
        >>> keep.tolist()
        [False, True, True, True]
    """
    return keep_smallest((losses * labels).detach(), int((1.0 - drop_rate) * losses.numel()))


def bpr_gradient_factor(s_pos: torch.Tensor, s_neg: torch.Tensor) -> torch.Tensor:
    """BPR gradient factor of a pair: ``|∂ softplus(s_neg − s_pos) / ∂ s_pos| = σ(−(s_pos − s_neg))``.

    Example:
        >>> round(float(bpr_gradient_factor(torch.tensor(0.0), torch.tensor(0.0))), 2)
        0.5
    """
    return torch.sigmoid(s_neg - s_pos)


def tce_drop_rate(progress_epochs: float, max_drop: float, ramp_epochs: float) -> float:
    """T-CE drop rate: rises linearly from 0 to ``max_drop`` over ``ramp_epochs`` epochs, then stays.

    Example:
        >>> tce_drop_rate(5, 0.2, 10), tce_drop_rate(30, 0.2, 10)
        (0.1, 0.2)
    """
    return max_drop * min(1.0, max(0.0, progress_epochs) / ramp_epochs)


class _SymmetricSpMM(torch.autograd.Function):
    """``A @ x`` for a symmetric sparse CSR ``A``; the backward is ``A @ grad`` (no transpose, no coalesce)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.adj = adj
        return adj @ x

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        return ctx.adj @ grad, None


def _lightgcn_csr(model: torch.nn.Module) -> torch.Tensor:
    adj = model.__dict__.get("_irrobust_adj_csr")
    if adj is None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            adj = model.norm_adj_matrix.coalesce().to_sparse_csr()
        model.__dict__["_irrobust_adj_csr"] = adj
    return adj


def final_embeddings(model: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """(user, item) embeddings used for scoring: MF's tables, or LightGCN's layer-mean propagation.

    For RecBole's ``LightGCN`` this recomputes ``model.forward()`` exactly (mean over layers 0..L of
    ``Â^l E``) with RecBole's own normalised adjacency ``Â = D^-1/2 A D^-1/2``, but as a CSR matrix
    with a custom backward (``Â`` is symmetric, so the gradient is ``Â @ grad``). Reason: on 2 CPU
    cores torch's COO ``sparse.mm`` backward coalesces/transposes on every call and was measured
    4x slower (174 ms vs 42 ms per forward+backward on ml-100k, 1 thread). Training steps gather rows with
    ``index_select`` (its backward is an ``index_add``; advanced indexing's backward is a slower
    accumulating ``index_put``): with the running layer sum, 12 % less time per LightGCN epoch.

    Example:
        >>> final_embeddings(torch.nn.Linear(1, 1))   # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ModelError: ...
    """
    name = type(model).__name__
    if name == "LightGCN":
        adj = _lightgcn_csr(model)
        x = model.get_ego_embeddings()
        acc = x
        for _ in range(model.n_layers):
            x = _SymmetricSpMM.apply(x, adj)
            acc = acc + x
        # running sum / (L+1) instead of RecBole's stack(...).mean(1): same value, no (N, L+1, d) copy in the backward
        out = acc / (model.n_layers + 1)
        return torch.split(out, [model.n_users, model.n_items])
    if name == "BPR":
        return model.user_embedding.weight, model.item_embedding.weight
    raise ModelError(f"unsupported backbone {name!r}; irrobust's noise trainers support BPR (MF) and LightGCN")


# ---------------------------------------------------------------------------------------------
# data in RecBole's internal id space
# ---------------------------------------------------------------------------------------------
@dataclass
class EvalData:
    """Users to evaluate with their masked and target item lists (internal ids)."""

    users: torch.Tensor
    mask: list[list[int]]
    targets: list[list[int]]


#: largest n_users * n_items for which TrainContext keeps dense bool membership tables (64 MB each)
_DENSE_LOOKUP_LIMIT = 1 << 26


def _sorted_codes(u: np.ndarray, i: np.ndarray, n_items: int) -> torch.Tensor:
    return torch.from_numpy(np.unique(u.astype(np.int64) * n_items + i.astype(np.int64)))


def _isin_sorted(sorted_codes: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    if sorted_codes.numel() == 0:
        return torch.zeros_like(query, dtype=torch.bool)
    idx = torch.searchsorted(sorted_codes, query).clamp(max=sorted_codes.numel() - 1)
    return sorted_codes[idx] == query


@dataclass
class TrainContext:
    """The noisy training set and the evaluation sets in RecBole's internal ids.

    Built by :meth:`from_arrays`; ``noise_codes`` (``u*n_items+i``, sorted) identify the injected
    interactions, so any (u, i) tensor can be checked with :meth:`is_noise`.
    """

    n_users: int
    n_items: int
    indptr: torch.Tensor  # (n_users+1,) CSR over users of the noisy training positives
    indices: torch.Tensor
    train_codes: torch.Tensor
    noise_codes: torch.Tensor
    train_users: torch.Tensor  # users with >= 1 training positive
    valid: EvalData
    test: EvalData
    n_train: int = 0
    n_noise: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_clean(self) -> int:
        """Number of clean (not injected) training rows."""
        return self.n_train - self.n_noise

    @classmethod
    def from_arrays(
        cls,
        n_users: int,
        n_items: int,
        train_u: np.ndarray,
        train_i: np.ndarray,
        train_noise: np.ndarray,
        valid_u: np.ndarray,
        valid_i: np.ndarray,
        test_u: np.ndarray,
        test_i: np.ndarray,
    ) -> TrainContext:
        """Build from (user, item) internal-id arrays.

        Example:
            >>> import numpy as np
            >>> a = np.array
            >>> ctx = TrainContext.from_arrays(3, 5, a([1, 1, 2]), a([1, 2, 3]), a([False, True, False]),
            ...                                a([1, 2]), a([3, 4]), a([1, 2]), a([4, 1]))
            >>> ctx.is_noise(torch.tensor([1, 1]), torch.tensor([1, 2])).tolist(), ctx.valid.mask, ctx.test.mask
            ([False, True], [[1, 2], [3]], [[1, 2, 3], [3, 4]])
        """
        order = np.lexsort((train_i, train_u))
        tu, ti = train_u[order].astype(np.int64), train_i[order].astype(np.int64)
        counts = np.bincount(tu, minlength=n_users)
        indptr = np.concatenate([[0], np.cumsum(counts)])
        train_lists = [ti[indptr[u] : indptr[u + 1]].tolist() for u in range(n_users)]

        def group(us: np.ndarray, its: np.ndarray) -> dict[int, list[int]]:
            d: dict[int, list[int]] = {}
            for u, i in zip(us.tolist(), its.tolist(), strict=True):
                d.setdefault(u, []).append(i)
            return d

        vg, tg = group(valid_u, valid_i), group(test_u, test_i)
        vus = sorted(vg)
        tus = sorted(tg)

        def minus(items: list[int], targets: list[int]) -> list[int]:
            drop = set(targets)
            return sorted({i for i in items if i not in drop})

        # mask = history minus the targets (RecBole's convention, see irrobust.recsys.metrics)
        valid = EvalData(
            torch.tensor(vus, dtype=torch.long), [minus(train_lists[u], vg[u]) for u in vus], [vg[u] for u in vus]
        )
        test = EvalData(
            torch.tensor(tus, dtype=torch.long),
            [minus(train_lists[u] + vg.get(u, []), tg[u]) for u in tus],
            [tg[u] for u in tus],
        )
        return cls(
            n_users=n_users,
            n_items=n_items,
            indptr=torch.from_numpy(indptr),
            indices=torch.from_numpy(ti),
            train_codes=_sorted_codes(tu, ti, n_items),
            noise_codes=_sorted_codes(train_u[train_noise], train_i[train_noise], n_items),
            train_users=torch.from_numpy(np.flatnonzero(counts > 0)),
            valid=valid,
            test=test,
            n_train=int(len(tu)),
            n_noise=int(np.asarray(train_noise, dtype=bool).sum()),
        )

    def _member(self, name: str, codes: torch.Tensor, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        # A dense (n_users * n_items) bool table when it is small (ml-100k 1.6 MB, Last.fm 8.3 MB): one gather
        # instead of a binary search per query (PLD checks B*k pool items and B negatives per batch; the
        # searchsorted calls were 17 % of a PLD-MF epoch on ml-100k). Larger logs keep the sorted-code search.
        q = users.long() * self.n_items + items.long()
        if self.n_users * self.n_items > _DENSE_LOOKUP_LIMIT:
            return _isin_sorted(codes, q)
        table = self.extra.get(name)
        if table is None:
            table = torch.zeros(self.n_users * self.n_items, dtype=torch.bool)
            table[codes] = True
            self.extra[name] = table
        return table[q]

    def is_noise(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Bool tensor: which (user, item) pairs are injected noise."""
        return self._member("noise_table", self.noise_codes, users, items)

    def is_train(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Bool tensor: which (user, item) pairs are in the (noisy) training set."""
        return self._member("train_table", self.train_codes, users, items)

    def sample_negatives(self, users: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One uniform item per user from ``1..n_items-1`` not in the user's training set (rejection sampling).

        Example:
            >>> import numpy as np
            >>> a = np.array
            >>> ctx = TrainContext.from_arrays(2, 4, a([1, 1]), a([1, 2]), a([False, False]),
            ...                                a([1]), a([3]), a([1]), a([3]))
            >>> set(ctx.sample_negatives(torch.ones(50, dtype=torch.long)).tolist())
            {3}
        """
        neg = torch.randint(1, self.n_items, users.shape, generator=generator)
        bad = self.is_train(users, neg)
        for _ in range(1000):
            if not bad.any():
                return neg
            neg[bad] = torch.randint(1, self.n_items, (int(bad.sum()),), generator=generator)
            bad = self.is_train(users, neg)
        raise ModelError("could not sample negatives: some user has interacted with (almost) every item")


# ---------------------------------------------------------------------------------------------
# trainers
# ---------------------------------------------------------------------------------------------
@dataclass
class _EpochStats:
    n: int = 0
    n_noise: int = 0
    w: float = 0.0
    w_noise: float = 0.0
    pool: int = 0
    pool_noise: int = 0
    dropped: int = 0
    dropped_noise: int = 0
    resampled: bool = True
    seconds: float = 0.0
    gf_n: int = 0
    gf_chosen: float = 0.0
    gf_uniform: float = 0.0
    drop_rate: float = 0.0

    def add_gradient_factor(self, chosen: torch.Tensor, uniform: torch.Tensor | None = None) -> None:
        """Accumulate BPR gradient factors of the trained pairs (and the expected factor of a uniform pick)."""
        self.gf_n += int(chosen.numel())
        self.gf_chosen += float(chosen.detach().to(torch.float64).sum())
        if uniform is not None:
            self.gf_uniform += float(uniform.detach().to(torch.float64).sum())

    def record(self, epoch: int) -> dict[str, Any]:
        """The per-epoch record: raw counts plus mean gradient factors (NaN where not measured)."""
        out: dict[str, Any] = {"epoch": epoch, **self.__dict__}
        out["grad_factor_chosen"] = self.gf_chosen / self.gf_n if self.gf_n else float("nan")
        out["grad_factor_uniform"] = self.gf_uniform / self.gf_n if self.gf_n and self.gf_uniform else float("nan")
        return out

    def add_dropped(self, dropped: torch.Tensor, noise: torch.Tensor) -> None:
        """Count the rows a truncation dropped, and how many of them were injected noise."""
        self.dropped += int(dropped.sum())
        self.dropped_noise += int((dropped & noise).sum())

    def add(self, noise: torch.Tensor, weight: torch.Tensor | None) -> None:
        self.n += int(noise.numel())
        self.n_noise += int(noise.sum())
        w = torch.ones_like(noise, dtype=torch.float64) if weight is None else weight.detach().to(torch.float64)
        self.w += float(w.sum())
        self.w_noise += float(w[noise].sum())


class NoiseAwareTrainer(Trainer):
    """Base class: RecBole ``Trainer`` with irrobust's loss, noise book-keeping and per-user validation.

    Args:
        config: RecBole ``Config`` (learner, learning_rate, weight_decay, epochs, eval_step, stopping_step,
            checkpoint_dir ...).
        model: RecBole ``BPR`` or ``LightGCN`` built on the noisy training dataset.
        ctx: :class:`TrainContext` in the same internal ids.
        reg_weight: λ of the ego-embedding L2 penalty.
        seed: seed of this trainer's own torch generator (PLD sampling).
        ks, valid_k, eval_batch_size: evaluation settings.

    Example:
        >>> issubclass(StandardTrainer, Trainer)
        True
    """

    method = "standard"

    def __init__(
        self,
        config: Any,
        model: torch.nn.Module,
        ctx: TrainContext,
        reg_weight: float = 1e-4,
        seed: int = 0,
        ks: tuple[int, ...] = (20, 50),
        valid_k: int = 20,
        eval_batch_size: int = 1024,
    ) -> None:
        super().__init__(config, model)
        self.ctx = ctx
        self.reg_weight = reg_weight
        self.generator = torch.Generator().manual_seed(int(seed))
        self.ks = tuple(ks)
        self.valid_k = valid_k
        self.eval_batch_size = eval_batch_size
        self.train_batch_size = int(config["train_batch_size"])
        self.epoch_stats: list[dict[str, Any]] = []
        self.valid_history: list[tuple[int, float]] = []
        self._epoch = 0
        # user of every CSR training row (ctx.indices is sorted by user)
        self._row_users = torch.repeat_interleave(torch.arange(ctx.n_users), ctx.indptr.diff())

    def interaction_batches(self) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """One interaction-wise epoch: every training (user, positive) once, shuffled, in ``ceil(#train / B)``
        batches of ``B = train_batch_size``, each with one uniform negative not in the user's training set.

        The same distribution as RecBole's ``TrainDataLoader`` with its uniform negative sampler (which
        draws from items ``1..n_items-1`` outside the user's training items), drawn from the trainer's
        own seeded generator in a few vectorised calls.

        Example:
            >>> batches = trainer.interaction_batches()  # doctest: +SKIP
            >>> sum(len(u) for u, _, _ in batches) == trainer.ctx.n_train  # doctest: +SKIP
            True
        """
        n = self.ctx.n_train
        perm = torch.randperm(n, generator=self.generator)
        users, pos = self._row_users[perm], self.ctx.indices[perm]
        neg = self.ctx.sample_negatives(users, self.generator)
        b = max(1, self.train_batch_size)
        return [(users[s : s + b], pos[s : s + b], neg[s : s + b]) for s in range(0, n, b)]

    # -- loss ---------------------------------------------------------------------------------
    def _pair_weights(
        self, losses: torch.Tensor, margin: torch.Tensor, progress: float, stats: _EpochStats, noise: torch.Tensor
    ) -> tuple[torch.Tensor | None, float]:
        """Per-pair weights (detached) and the normaliser; standard = plain mean."""
        return None, float(losses.numel())

    # -- the one training step: begin (zero the gradients, embed) → loss → optimise -------------------------
    def _begin_step(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Zero the gradients and return the (user, item) embeddings of this step (one propagation for LightGCN)."""
        self.optimizer.zero_grad()
        return final_embeddings(self.model)

    def on_model(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``tensors`` on the model's device (batches are drawn and book-kept on the CPU; a no-op there).

        Example:
            >>> users, = trainer.on_model(torch.tensor([1, 2]))  # doctest: +SKIP
        """
        device = next(self.model.parameters()).device
        return tuple(t.to(device) for t in tensors)

    def _ego_l2(self, users: torch.Tensor, *items: torch.Tensor) -> torch.Tensor:
        """The shared L2 term on the ego (layer-0) embeddings: ``mean‖e_u‖² + Σ_items mean‖e_i‖²``."""
        users, *items = self.on_model(users, *items)
        egos = [self.model.user_embedding(users), *(self.model.item_embedding(i) for i in items)]
        reg = egos[0].pow(2).sum(1).mean()
        for ego in egos[1:]:
            reg = reg + ego.pow(2).sum(1).mean()
        return reg

    def _optimise(self, loss: torch.Tensor) -> float:
        """NaN check, backward and optimiser step; returns the loss value."""
        self._check_nan(loss)
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())

    def _bpr_step(
        self,
        embeddings: tuple[torch.Tensor, torch.Tensor],
        users: torch.Tensor,
        pos: torch.Tensor,
        neg: torch.Tensor,
        progress: float,
        stats: _EpochStats,
        record: bool = True,
    ) -> float:
        """The BPR step of every pairwise method: weighted mean of ``bpr_loss`` over the pairs (weights and
        normaliser from :meth:`_pair_weights`) + ``reg_weight`` × the ego-embedding L2 term, then an optimiser step.
        ``record``: count the pairs' noise and gradient factors in ``stats`` (PLD records its own)."""
        user_all, item_all = embeddings
        u_d, p_d, n_d = self.on_model(users, pos, neg)
        u_e, p_e, n_e = user_all.index_select(0, u_d), item_all.index_select(0, p_d), item_all.index_select(0, n_d)
        s_pos, s_neg = (u_e * p_e).sum(1), (u_e * n_e).sum(1)
        losses = bpr_loss(s_pos, s_neg)
        noise = self.ctx.is_noise(users, pos)
        # weights and statistics on the CPU, where the noise tables live (.cpu() is the same tensor there)
        weights, denom = self._pair_weights(losses.detach().cpu(), (s_pos - s_neg).detach().cpu(), progress, stats,
                                            noise)  # fmt: skip
        if record:
            stats.add(noise, weights)
            stats.add_gradient_factor(bpr_gradient_factor(s_pos.detach(), s_neg.detach()))
        bpr = (losses if weights is None else losses * weights.to(losses.device)).sum() / max(denom, 1e-12)
        return self._optimise(bpr + self.reg_weight * self._ego_l2(users, pos, neg))

    def _train_epoch(
        self, train_data: Any, epoch_idx: int, loss_func: Any = None, show_progress: bool = False
    ) -> float:
        self.model.train()
        self._epoch = epoch_idx
        t0 = perf_counter()
        stats = _EpochStats()
        total = 0.0
        batches = self.interaction_batches()
        for b, (users, pos, neg) in enumerate(batches):
            total += self._bpr_step(self._begin_step(), users, pos, neg, epoch_idx + b / len(batches), stats)
        stats.seconds = perf_counter() - t0
        self.epoch_stats.append(stats.record(epoch_idx + 1))
        return total

    # -- evaluation ---------------------------------------------------------------------------
    @torch.no_grad()
    def per_user_metrics(self, which: str = "test", paper_idcg: bool = False) -> dict[str, np.ndarray]:
        """Per-user Recall@K / NDCG@K on ``"valid"`` (train masked) or ``"test"`` (train + valid masked).

        Example:
            >>> trainer.per_user_metrics("test")["Recall@20"].mean()  # doctest: +SKIP
        """
        data = self.ctx.valid if which == "valid" else self.ctx.test
        was_training = self.model.training
        self.model.eval()
        user_all, item_all = final_embeddings(self.model)
        out = full_ranking_metrics(
            user_all.cpu(),  # evaluated where the masks live (the same tensors on the CPU)
            item_all.cpu(),
            data.users,
            data.mask,
            data.targets,
            self.ks,
            batch_size=self.eval_batch_size,
            paper_idcg=paper_idcg,
        )
        self.model.train(was_training)
        return out

    def validation_score(self) -> float:
        """Model-selection score (higher is better): validation Recall@valid_k, train items masked."""
        return float(self.per_user_metrics("valid")[f"Recall@{self.valid_k}"].mean())

    def fit_select(self, epochs: int, eval_step: int, select_from: int = 0, stopping_step: int = 10) -> None:
        """Train ``epochs`` epochs, validate after every epoch ``e`` (1-based) with ``e % eval_step == 0``, keep the
        best eligible model (``e >= select_from``; strictly better score, so the earliest of ties) **in memory**,
        stop after more than ``stopping_step`` eligible validations without improvement, then load the best.

        Nothing is written to or read from disk: RecBole's ``fit`` saves the best model as a ``.pth`` and reloads it
        with ``torch.load(weights_only=False)``, which would unpickle whatever file sits at that path. Sets
        ``best_epoch``, ``best_score`` and appends ``(epoch, score)`` for every validation to ``valid_history``.

        Example:
            >>> trainer.fit_select(100, 20, select_from=40)   # reference protocol  # doctest: +SKIP
            >>> trainer.best_epoch in (40, 60, 80, 100)  # doctest: +SKIP
            True
        """
        best_state: dict[str, torch.Tensor] | None = None
        self.best_score, self.best_epoch = float("-inf"), -1
        bad = 0
        for idx in range(epochs):
            self._train_epoch(None, idx)
            e = idx + 1
            if e % eval_step:
                continue
            score = self.validation_score()
            self.valid_history.append((e, score))
            if e < select_from:
                continue
            if score > self.best_score:
                self.best_score, self.best_epoch, bad = score, e, 0
                best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            else:
                bad += 1
                if bad > stopping_step:
                    break
        if best_state is None:
            raise ModelError(
                f"no eligible validation produced a finite score (epochs={epochs}, eval_step={eval_step}, "
                f"select_from={select_from}): cannot select a model"
            )
        self.model.load_state_dict(best_state)


class StandardTrainer(NoiseAwareTrainer):
    """Standard BPR training: interaction-wise epochs from :meth:`interaction_batches` (see module docstring)."""

    method = "standard"


class TCETrainer(NoiseAwareTrainer):
    """``tce_pairwise``: T-CE's truncation applied to BPR pairs (drops the highest-loss pairs, which mixes noisy
    positives with hard negatives), ramp in epochs. See :class:`TCEPointwiseTrainer` for T-CE as published.

    Example:
        >>> TCETrainer.method
        'tce_pairwise'
    """

    method = "tce_pairwise"

    def __init__(self, *args: Any, max_drop: float = 0.2, ramp_epochs: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_drop = max_drop
        self.ramp_epochs = ramp_epochs

    def _pair_weights(self, losses, margin, progress, stats, noise):  # type: ignore[override]
        rate = tce_drop_rate(progress, self.max_drop, self.ramp_epochs)
        n = losses.numel()
        n_keep = max(1, int(math.ceil((1.0 - rate) * n)))
        keep = keep_smallest(losses, n_keep)
        stats.add_dropped(~keep, noise)
        return keep.to(torch.float32), float(n_keep)


class TCEPointwiseTrainer(NoiseAwareTrainer):
    """T-CE as published (Wang et al., WSDM 2021; authors' ``T_CE/main.py`` and ``loss.py``).

    Every epoch: all training positives (label 1) plus one uniform negative per positive (label 0, not in the
    user's training set), shuffled together into batches of ``train_batch_size`` rows. Per batch (iteration
    ``t``, counted over the whole run): per-row BCE on the logit ``s_ui``; keep the ``int((1 − r(t)) n)`` rows with
    the smallest ``loss · label`` (:func:`tce_keep_mask`: only positives are dropped, the highest-loss ones),
    ``r(t)`` from :func:`tce_iteration_drop_rate` (linear over ``ramp_iterations``, default 30,000); loss = mean
    BCE of the kept rows + the shared ego-embedding L2 term. Model selection: lowest **validation loss**, the same
    truncated BCE at the current drop rate over the validation positives and one fresh negative each, summed
    over batches (the authors' ``eval``); :meth:`validation_score` returns its negative.

    Example:
        >>> TCEPointwiseTrainer.method
        'tce'
    """

    method = "tce"

    def __init__(self, *args: Any, max_drop: float = 0.2, ramp_iterations: int = 30000, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_drop = max_drop
        self.ramp_iterations = ramp_iterations
        self.iteration = 0
        # validation negatives from their own stream, so the validation frequency does not change training
        self.valid_generator = torch.Generator().manual_seed(int(self.generator.initial_seed()) + 7919)
        self._valid_users = torch.repeat_interleave(
            self.ctx.valid.users, torch.tensor([len(t) for t in self.ctx.valid.targets], dtype=torch.long)
        )
        self._valid_items = torch.tensor([i for t in self.ctx.valid.targets for i in t], dtype=torch.long)

    def drop_rate(self) -> float:
        """Drop rate of the next iteration."""
        return tce_iteration_drop_rate(self.iteration, self.max_drop, self.ramp_iterations)

    def pointwise_batches(
        self, users: torch.Tensor, items: torch.Tensor, generator: torch.Generator
    ) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Positives ``(users, items)`` plus one negative each, shuffled, as ``(users, items, labels)`` batches.

        Example:
            >>> batches = trainer.pointwise_batches(u, i, trainer.generator)  # doctest: +SKIP
        """
        neg = self.ctx.sample_negatives(users, generator)
        all_u = torch.cat([users, users])
        all_i = torch.cat([items, neg])
        labels = torch.cat([torch.ones(len(users)), torch.zeros(len(users))])
        perm = torch.randperm(len(all_u), generator=generator)
        all_u, all_i, labels = all_u[perm], all_i[perm], labels[perm]
        b = max(1, self.train_batch_size)
        return [(all_u[s : s + b], all_i[s : s + b], labels[s : s + b]) for s in range(0, len(all_u), b)]

    def _train_epoch(
        self, train_data: Any, epoch_idx: int, loss_func: Any = None, show_progress: bool = False
    ) -> float:
        self.model.train()
        self._epoch = epoch_idx
        t0 = perf_counter()
        stats = _EpochStats()
        total = 0.0
        for users, items, labels in self.pointwise_batches(self._row_users, self.ctx.indices, self.generator):
            rate = self.drop_rate()
            user_all, item_all = self._begin_step()
            u_d, i_d, l_d = self.on_model(users, items, labels)
            logits = (user_all.index_select(0, u_d) * item_all.index_select(0, i_d)).sum(1)
            losses = F.binary_cross_entropy_with_logits(logits, l_d, reduction="none")
            keep = tce_keep_mask(losses.detach(), l_d, rate).cpu()
            pos = labels > 0
            noise = self.ctx.is_noise(users[pos], items[pos])
            kept_pos = keep[pos]
            stats.add(noise, kept_pos.to(torch.float64))
            stats.add_dropped(~kept_pos, noise)
            kept = losses[keep.to(losses.device)].mean()
            total += self._optimise(kept + self.reg_weight * self._ego_l2(users[keep], items[keep]))
            self.iteration += 1
        stats.drop_rate = self.drop_rate()
        stats.seconds = perf_counter() - t0
        self.epoch_stats.append(stats.record(epoch_idx + 1))
        return total

    @torch.no_grad()
    def validation_loss(self) -> float:
        """Truncated BCE (current drop rate) over validation positives + one fresh negative each, summed over batches.

        Example:
            >>> trainer.validation_loss() > 0  # doctest: +SKIP
            True
        """
        was_training = self.model.training
        self.model.eval()
        user_all, item_all = final_embeddings(self.model)
        rate = self.drop_rate()
        total = 0.0
        for users, items, labels in self.pointwise_batches(self._valid_users, self._valid_items, self.valid_generator):
            users, items, labels = self.on_model(users, items, labels)
            logits = (user_all.index_select(0, users) * item_all.index_select(0, items)).sum(1)
            losses = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
            keep = tce_keep_mask(losses, labels, rate)
            total += float(losses[keep].mean())
        self.model.train(was_training)
        return total

    def validation_score(self) -> float:
        """Negative validation loss (selection on the lowest validation loss, as published)."""
        return -self.validation_loss()


class RCETrainer(NoiseAwareTrainer):
    """R-CE (reweighted loss), Wang et al. WSDM 2021, adapted to BPR: ``w = σ(s_ui − s_un)^β`` detached.

    Example:
        >>> RCETrainer.method
        'rce'
    """

    method = "rce"

    def __init__(self, *args: Any, beta: float = 0.25, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.beta = beta

    def _pair_weights(self, losses, margin, progress, stats, noise):  # type: ignore[override]
        w = torch.sigmoid(margin).pow(self.beta)
        return w, float(losses.numel())


class PLDTrainer(NoiseAwareTrainer):
    """PLD: personal-loss-distribution resampling (Zhang et al., WWW 2025), see module docstring.

    Args:
        k: candidate pool size (5). tau: temperature (0.1). warmup_epochs: uniform epochs (5).
        batch_size: users per batch (2048).
        resample: False gives the ``uniform`` ablation (uniform pool positive in every epoch).

    Example:
        >>> PLDTrainer.method
        'pld'
    """

    method = "pld"

    def __init__(
        self,
        *args: Any,
        k: int = 5,
        tau: float = 0.1,
        warmup_epochs: int = 5,
        batch_size: int = 2048,
        resample: bool = True,
        epoch_rows: str = "noisy",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.k, self.tau, self.warmup_epochs = k, tau, warmup_epochs
        self.batch_size = batch_size
        if epoch_rows not in ("noisy", "clean"):
            raise ValueError(f"epoch_rows must be 'noisy' or 'clean', got {epoch_rows!r}")
        self.epoch_rows = epoch_rows
        self.resample = resample
        if not resample:
            self.method = "uniform"

    def epoch_sizes(self) -> list[int]:
        """Batch sizes (users drawn) of one epoch: ``#train rows`` (noisy, or clean for the reference) in batches.

        Example:
            >>> sum(trainer.epoch_sizes()) == trainer.ctx.n_clean  # reference protocol  # doctest: +SKIP
            True
        """
        rows = self.ctx.n_clean if self.epoch_rows == "clean" else self.ctx.n_train
        return epoch_batch_sizes(rows, self.batch_size)

    def in_warmup(self, epoch_idx: int) -> bool:
        """Whether epoch ``epoch_idx`` (0-based) samples uniformly."""
        return (not self.resample) or epoch_idx < self.warmup_epochs

    def draw_batch(self, batch_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One PLD batch before scoring: users (B,), candidate pools (B, k), shared negatives (B,).

        Example:
            >>> users, pool, neg = trainer.draw_batch()  # doctest: +SKIP
        """
        b = batch_size or self.batch_size
        ctx = self.ctx
        users = ctx.train_users[torch.randint(0, len(ctx.train_users), (b,), generator=self.generator)]
        start = ctx.indptr[users]
        deg = ctx.indptr[users + 1] - start
        offsets = sample_pool_offsets(deg, self.k, self.generator)
        pool = ctx.indices[start[:, None] + offsets]
        neg = ctx.sample_negatives(users, self.generator)
        return users, pool, neg

    def candidate_losses(
        self, user_all: torch.Tensor, item_all: torch.Tensor, users: torch.Tensor, pool: torch.Tensor, neg: torch.Tensor
    ) -> torch.Tensor:
        """``(B, k)`` BPR losses ``softplus(s_un − s_ui)`` of every candidate, without gradient (one batched dot).

        Example:
            >>> trainer.candidate_losses(*final_embeddings(model), users, pool, neg)  # doctest: +SKIP
        """
        with torch.no_grad():
            items = item_all.detach()
            u = user_all.detach().index_select(0, users)  # (B, d)
            cand = items.index_select(0, pool.reshape(-1)).view(*pool.shape, -1)  # (B, k, d)
            s_pool = torch.einsum("bd,bkd->bk", u, cand)
            s_neg = (u * items.index_select(0, neg)).sum(1)
            return bpr_loss(s_pool, s_neg[:, None])

    def _train_epoch(
        self, train_data: Any, epoch_idx: int, loss_func: Any = None, show_progress: bool = False
    ) -> float:
        self.model.train()
        self._epoch = epoch_idx
        t0 = perf_counter()
        stats = _EpochStats(resampled=not self.in_warmup(epoch_idx))
        uniform = self.in_warmup(epoch_idx)
        total = 0.0
        for size in self.epoch_sizes():
            users, pool, neg = self.draw_batch(size)
            user_all, item_all = self._begin_step()
            # candidate losses back on the CPU, where the seeded generator draws (the same tensor on the CPU)
            cand = self.candidate_losses(user_all, item_all, *self.on_model(users, pool, neg)).cpu()
            choice = pld_select(cand, self.tau, uniform=uniform, generator=self.generator)
            pos = pool.gather(1, choice[:, None]).squeeze(1)
            # BPR gradient factor sigma(s_neg - s_pos) = 1 - exp(-loss): chosen pair vs the mean over the pool
            factors = -torch.expm1(-cand)
            stats.add_gradient_factor(factors.gather(1, choice[:, None]).squeeze(1), factors.mean(1))
            pool_noise = self.ctx.is_noise(users[:, None].expand_as(pool), pool)
            stats.pool += int(pool_noise.numel())
            stats.pool_noise += int(pool_noise.sum())
            stats.add(pool_noise.gather(1, choice[:, None]).squeeze(1), None)
            # the shared BPR step on (u, i*, n): plain mean (no pair weights), PLD's own statistics recorded above
            total += self._bpr_step((user_all, item_all), users, pos, neg, float(epoch_idx), stats, record=False)
        stats.seconds = perf_counter() - t0
        self.epoch_stats.append(stats.record(epoch_idx + 1))
        return total
