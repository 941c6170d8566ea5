"""The training skeleton of irrobust's learned rerankers, and their training data.

Training data: for every training query, its judged-relevant documents are positives and the
documents BM25 ranks in its top ``depth`` that are *not* judged relevant are hard negatives
(the usual recipe for rerankers, e.g. Nogueira & Cho, "Passage Re-ranking with BERT", 2019, and
Gao, Dai & Callan, "Rethink Training of BERT Rerankers in Multi-Stage Retrieval Pipeline", ECIR 2021).
A training *group* is one positive plus ``n_neg`` negatives sampled (seeded) from that pool.

:class:`Trainer` is the one training loop of the cross-encoder (:mod:`irrobust.rankers.cross_encoder`) and
KNRM (:mod:`irrobust.rankers.knrm`; PRADA's surrogate too): examples → a seeded network → epochs of shuffled,
seeded batches → one optimiser step per batch → a loss curve → a model directory with its manifest
(:mod:`irrobust.index.models`). A ranker supplies the parts that differ as hooks: :meth:`Trainer.prepare`
(examples from a dataset), :meth:`Trainer.network` (network, optimiser, schedule), :meth:`Trainer.loss` (one
batch), :meth:`Trainer.save` and :meth:`Trainer.describe` (files and manifest fields).

Example:
    >>> import pandas as pd
    >>> run = pd.DataFrame({"qid": ["1"] * 4, "docno": ["a", "b", "c", "d"], "rank": [1, 2, 3, 4]})
    >>> qrels = pd.DataFrame({"qid": ["1"], "docno": ["b"], "label": [1]})
    >>> hard_negatives(run, qrels, depth=3)["1"]
    ['a', 'c']
"""

from __future__ import annotations

import functools
import json
import random
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from irrobust.errors import ModelError
from irrobust.index.models import (
    MINILM_NAME,
    minilm_package,
    minilm_path,
    model_dir,
    resolve_dataset,
    reusable_model,
    vocab_hash,
    write_model_dir,
)
from irrobust.util.compute import default_threads

#: the tokenizer of every MiniLM-based ranker (recorded in, and checked against, model manifests)
MINILM_TOKENIZER = "all-MiniLM-L6-v2 (bert-base-uncased wordpiece)"


# --------------------------------------------------------------------------------------------
# training data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NegativesConfig:
    """How hard negatives are drawn: ``n_neg`` per positive, sampled from BM25's top ``depth``.

    ``sampling="random"`` draws uniformly (seeded) from the pool; ``"top"`` takes the highest-ranked.

    Example:
        >>> NegativesConfig(n_neg=3).depth
        100
    """

    retriever: str = "bm25"
    depth: int = 100
    n_neg: int = 3
    sampling: str = "random"

    def __post_init__(self) -> None:
        if self.retriever != "bm25":
            raise ModelError(f"unknown negatives retriever {self.retriever!r}; only 'bm25' is supported")
        if self.sampling not in ("random", "top"):
            raise ModelError(f"negatives sampling must be 'random' or 'top', got {self.sampling!r}")
        if self.depth < 1 or self.n_neg < 1:
            raise ModelError(f"depth and n_neg must be positive, got depth={self.depth}, n_neg={self.n_neg}")


def hard_negatives(run: pd.DataFrame, qrels: pd.DataFrame, depth: int = 100) -> dict[str, list[str]]:
    """Per query, the docnos in ``run``'s top ``depth`` that are not judged relevant (label > 0), in rank order.

    Judged non-relevant documents (label <= 0) stay in the pool: they are certain negatives.

    Example:
        >>> import pandas as pd
        >>> run = pd.DataFrame({"qid": ["1", "1"], "docno": ["x", "y"], "rank": [1, 2]})
        >>> hard_negatives(run, pd.DataFrame({"qid": ["1"], "docno": ["x"], "label": [1]}))
        {'1': ['y']}
    """
    relevant = set(
        zip(
            qrels.loc[qrels["label"] > 0, "qid"].astype(str),
            qrels.loc[qrels["label"] > 0, "docno"].astype(str),
            strict=True,
        )
    )
    top = run[run["rank"] <= depth].sort_values(["qid", "rank"], kind="mergesort")
    out: dict[str, list[str]] = {}
    for qid, docno in zip(top["qid"].astype(str), top["docno"].astype(str), strict=True):
        if (qid, docno) not in relevant:
            out.setdefault(qid, []).append(docno)
    return out


def training_queries(ds: Any, cfg: Any) -> pd.DataFrame:
    """The training queries of ``ds`` for a model config: document-disjoint if asked, then ``max_queries``.

    ``cfg.disjoint_from`` (a dataset ID, usually the evaluation split) drops every training query one of whose
    relevant documents is relevant for a query of that dataset (:mod:`irrobust.data.overlap`), so that a learned
    ranker cannot score well by remembering the evaluation's relevant documents.

    Example:
        >>> from irrobust.rankers.knrm import KNRMConfig
        >>> training_queries(ds, KNRMConfig(disjoint_from="beir/scifact/test")).shape[0]   # doctest: +SKIP
        537
    """
    queries = ds.queries
    other = getattr(cfg, "disjoint_from", None)
    if other:
        from irrobust.data.dataset import dataset
        from irrobust.data.overlap import disjoint_training_qids

        keep = set(disjoint_training_qids(ds.qrels, dataset(other).qrels))
        queries = queries[queries["qid"].astype(str).isin(keep)]
        if queries.empty:
            raise ModelError(f"no training query of {ds.id} is document-disjoint from {other}", where=ds.id)
    return select_queries(queries, cfg.max_queries, cfg.seed)


def select_queries(queries: pd.DataFrame, max_queries: int | None, seed: int) -> pd.DataFrame:
    """All queries, or a seeded sample of ``max_queries`` of them (for quick tests), in qid order.

    Example:
        >>> import pandas as pd
        >>> q = pd.DataFrame({"qid": list("abcd"), "query": list("wxyz")})
        >>> select_queries(q, 2, seed=0)["qid"].tolist() == select_queries(q, 2, seed=0)["qid"].tolist()
        True
    """
    q = queries.sort_values("qid", kind="mergesort").reset_index(drop=True)
    if max_queries is None or max_queries >= len(q):
        return q
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(len(q), size=int(max_queries), replace=False))
    return q.iloc[keep].reset_index(drop=True)


def holdout_queries(queries: pd.DataFrame, fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``queries`` into (train, held-out) with a seeded sample of ``fraction`` held out (qid order kept).

    Example:
        >>> import pandas as pd
        >>> q = pd.DataFrame({"qid": list("abcdefghij"), "query": list("abcdefghij")})
        >>> train, dev = holdout_queries(q, 0.2, seed=0)
        >>> len(train), len(dev), set(train["qid"]) & set(dev["qid"])
        (8, 2, set())
    """
    if not 0.0 <= fraction < 1.0:
        raise ModelError(f"the held-out fraction must be in [0, 1), got {fraction}")
    q = queries.sort_values("qid", kind="mergesort").reset_index(drop=True)
    n_dev = int(round(fraction * len(q)))
    if n_dev == 0:
        return q, q.iloc[:0]
    rng = np.random.default_rng(seed)
    dev = np.zeros(len(q), dtype=bool)
    dev[rng.choice(len(q), size=n_dev, replace=False)] = True
    return q[~dev].reset_index(drop=True), q[dev].reset_index(drop=True)


def training_groups(
    queries: pd.DataFrame,
    qrels: pd.DataFrame,
    run: pd.DataFrame,
    negatives: NegativesConfig,
    seed: int,
    max_pos_per_query: int | None = None,
) -> pd.DataFrame:
    """One row per (query, positive) with ``n_neg`` hard negatives: ``qid, query, pos, negs`` (negs: list of docnos).

    Queries without a positive or without any BM25 negative are dropped. When the pool is smaller than
    ``n_neg``, negatives are repeated (sampled with replacement). With ``max_pos_per_query`` only the
    first positives (seeded shuffle) of a query are kept, which bounds the cost on densely judged
    collections such as NFCorpus.

    Example:
        >>> import pandas as pd
        >>> q = pd.DataFrame({"qid": ["1"], "query": ["vitamin d"]})
        >>> qrels = pd.DataFrame({"qid": ["1"], "docno": ["a"], "label": [1]})
        >>> run = pd.DataFrame({"qid": ["1"] * 3, "docno": ["a", "b", "c"], "rank": [1, 2, 3]})
        >>> g = training_groups(q, qrels, run, NegativesConfig(n_neg=2, sampling="top"), seed=0)
        >>> g[["pos", "negs"]].values.tolist()
        [['a', ['b', 'c']]]
    """
    pool = hard_negatives(run, qrels, negatives.depth)
    rel = qrels[qrels["label"] > 0]
    pos_by_q: dict[str, list[str]] = {}
    for qid, docno in zip(rel["qid"].astype(str), rel["docno"].astype(str), strict=True):
        pos_by_q.setdefault(qid, []).append(docno)
    rng = random.Random(seed)
    rows = []
    for qid, text in zip(queries["qid"].astype(str), queries["query"].astype(str), strict=True):
        positives = sorted(pos_by_q.get(qid, []))
        negs_pool = pool.get(qid, [])
        if not positives or not negs_pool:
            continue
        if max_pos_per_query is not None and len(positives) > max_pos_per_query:
            rng.shuffle(positives)
            positives = sorted(positives[:max_pos_per_query])
        for pos in positives:
            if negatives.sampling == "top":
                negs = [negs_pool[i % len(negs_pool)] for i in range(negatives.n_neg)]
            elif len(negs_pool) >= negatives.n_neg:
                negs = rng.sample(negs_pool, negatives.n_neg)
            else:
                negs = [rng.choice(negs_pool) for _ in range(negatives.n_neg)]
            rows.append((qid, text, pos, negs))
    return pd.DataFrame(rows, columns=["qid", "query", "pos", "negs"])


def sampled_training_groups(ds: Any, queries: pd.DataFrame, cfg: Any) -> pd.DataFrame:
    """The training groups of ``queries`` (BM25 hard negatives per ``cfg.negatives``), at most ``cfg.max_groups``.

    ``cfg`` is a model config with ``negatives``, ``seed``, ``max_pos_per_query`` and optionally ``max_groups``
    (a seeded sample, original order kept). No group at all is a :class:`ModelError`.

    Example:
        >>> sampled_training_groups(ds, ds.queries.head(5), CrossEncoderConfig())   # doctest: +SKIP
    """
    run = bm25_run(ds, queries, cfg.negatives.depth)
    groups = training_groups(queries, ds.qrels, run, cfg.negatives, cfg.seed, cfg.max_pos_per_query)
    if groups.empty:
        raise ModelError("no training groups: the split has no query with both a relevant document and a BM25 "
                         "negative", where=ds.id)  # fmt: skip
    max_groups = getattr(cfg, "max_groups", None)
    if max_groups is not None and len(groups) > max_groups:
        groups = groups.sample(n=max_groups, random_state=cfg.seed).sort_index().reset_index(drop=True)
    return groups


def bm25_run(dataset: Any, queries: pd.DataFrame, depth: int) -> pd.DataFrame:
    """BM25 (irrobust's Lucene BM25, default parameters) top ``depth`` for ``queries`` of ``dataset``'s collection.

    Example:
        >>> import irrobust as ir
        >>> ds = ir.dataset("beir/scifact/train")                        # doctest: +SKIP
        >>> bm25_run(ds, ds.queries.head(2), 10).groupby("qid").size().max()  # doctest: +SKIP
        10
    """
    from irrobust.index.lucene import lucene_index
    from irrobust.rankers.lexical import BM25

    return BM25(lucene_index(dataset.collection), k=depth)(queries)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch RNGs.

    Example:
        >>> seed_everything(0)
    """
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def batches(n: int, size: int, seed: int, epoch: int) -> Iterator[np.ndarray]:
    """Shuffled index batches for one epoch, seeded by (seed, epoch).

    Example:
        >>> [len(b) for b in batches(5, 2, seed=0, epoch=0)]
        [2, 2, 1]
    """
    order = np.random.default_rng([seed, epoch]).permutation(n)
    for s in range(0, n, size):
        yield order[s : s + size]


def linear_warmup_lr(step: int, total: int, warmup: int) -> float:
    """Linear warm-up to 1 over ``warmup`` steps, then linear decay to 0 at ``total``.

    Example:
        >>> [round(linear_warmup_lr(s, 10, 2), 2) for s in (0, 1, 2, 9)]
        [0.5, 1.0, 1.0, 0.12]
    """
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


class Stopwatch:
    """Wall-clock timer.

    Example:
        >>> with Stopwatch() as sw:
        ...     pass
        >>> sw.seconds >= 0
        True
    """

    def __enter__(self) -> Stopwatch:
        self._t0 = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t0

    @property
    def elapsed(self) -> float:
        """Seconds since the timer started (while it runs).

        Example:
            >>> with Stopwatch() as sw:
            ...     sw.elapsed >= 0
            True
        """
        return time.perf_counter() - self._t0


def config_dict(obj: Any) -> dict[str, Any]:
    """A dataclass config as a JSON-able dict (nested dataclasses included).

    Example:
        >>> config_dict(NegativesConfig())["n_neg"]
        3
    """
    out = json.loads(json.dumps(asdict(obj), default=str))
    if "disjoint_from" in out and out["disjoint_from"] is None:  # the spec (and names) of models trained before
        del out["disjoint_from"]
    return out


@functools.lru_cache(maxsize=1)
def minilm_vocab_hash() -> str:
    """sha256 of the MiniLM tokenizer's vocabulary (what a MiniLM-based model dir's tokenizer must match).

    Example:
        >>> len(minilm_vocab_hash())   # doctest: +SKIP
        64
    """
    from transformers import AutoTokenizer

    return vocab_hash(AutoTokenizer.from_pretrained(str(minilm_path())))


# --------------------------------------------------------------------------------------------
# the trainer template
# --------------------------------------------------------------------------------------------


class Trainer:
    """The training skeleton: seeded network → epochs of shuffled batches → step → loss curve → model directory.

    ``config`` is the ranker's training dataclass (``epochs``, ``lr``, ``seed``, ``threads``, ``negatives`` and
    ``training_spec()``). :meth:`train` runs the whole lifecycle on a dataset: reuse a valid model directory
    trained with the same spec, else :meth:`prepare` the examples, :meth:`fit` and write the directory.
    :meth:`fit` alone trains on examples set by other means (PRADA's surrogate).

    With a ``checkpoint`` path, :meth:`fit` saves the training state after every epoch (network, optimiser, schedule,
    torch RNG, loss curve) and a rerun resumes after the last finished epoch with the weights an uninterrupted run
    gives (on the CPU); :meth:`train` keeps it beside the model directory and deletes it once the model is written.

    The step per batch: ``loss`` (hook) → zero the gradients → backward → clip to ``clip_norm`` (if set) →
    optimiser step → schedule step (if any). Precision (:func:`irrobust.util.compute.training_precision`): on the CPU
    exact fp32, no autocast (weights bit-identical to before mixed precision existed); on CUDA ``precision="auto"``
    runs the loss hook (the forward pass) under ``torch.autocast`` in bf16 where the GPU supports it, else in fp16 with
    a ``GradScaler`` (the scale is unscaled before clipping; fp32 master weights either way). A network that needs
    fp32 sets ``mixed_precision = False``. The precision used goes into the manifest (``training_precision``). The loss curve averages the losses of every ``log_every`` steps;
    the remainder is flushed at the end of every epoch (``flush_each_epoch``) or only at the end of training.

    Hooks: ``prepare(ds)`` (sets ``n_items``, the number of examples batches index into), ``network()``
    (``(model, optimizer, scheduler or None)``, called after seeding), ``loss(model, batch_indices)``,
    ``save(model, tmp) -> extra manifest fields`` and ``describe() -> manifest fields``; ``on_record`` /
    ``on_epoch_end`` print progress.

    Example:
        >>> import torch
        >>> class Mean(Trainer):
        ...     kind, label, batch_size = "toy", "toy", 2
        ...     def network(self):
        ...         w = torch.nn.Linear(1, 1)
        ...         return w, torch.optim.SGD(w.parameters(), lr=0.1), None
        ...     def loss(self, model, batch):
        ...         x = torch.tensor(batch, dtype=torch.float32)[:, None]
        ...         return ((model(x) - 1.0) ** 2).mean()
        >>> from types import SimpleNamespace
        >>> t = Mean(SimpleNamespace(epochs=2, seed=0, threads=1))
        >>> t.n_items = 4
        >>> _ = t.fit(); [c["step"] for c in t.curve], t.total_steps
        ([4], 4)
    """

    #: manifest ``kind`` of the model directory, and the prefix of progress lines
    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    #: examples per batch (a subclass reads it from its config)
    batch_size: int = 1
    #: steps averaged per loss-curve entry
    log_every: ClassVar[int] = 10
    #: record the remaining losses at the end of every epoch (else only at the end of training)
    flush_each_epoch: ClassVar[bool] = False
    #: gradient-norm clipping before each optimiser step (None: none)
    clip_norm: ClassVar[float | None] = None
    #: may the forward pass run under CUDA autocast (False: fp32 everywhere)
    mixed_precision: ClassVar[bool] = True

    def __init__(self, config: Any, name: str = "", progress: bool = False, device: str = "auto",
                 precision: str = "auto") -> None:  # fmt: skip
        from irrobust.util.compute import resolve_device, training_precision

        self.cfg, self.name, self.progress = config, name, progress
        self.threads = config.threads or default_threads()
        #: where the network trains (``auto``: CUDA when available). Not part of the training spec: a model's identity
        #: does not depend on the device (CPU weights are unchanged)
        self.device = resolve_device(device, where="training.device")
        #: ``fp32`` (always on the CPU), ``bf16`` or ``fp16`` (CUDA autocast; fp16 with a gradient scaler)
        self.precision = training_precision(self.device, precision, mixed_ok=self.mixed_precision)
        self.n_items = 0
        self.curve: list[dict[str, float]] = []
        self.seconds = 0.0

    # -- hooks ---------------------------------------------------------------------------------
    def prepare(self, ds: Any) -> None:
        """Build the training examples of ``ds`` and set ``n_items`` (hook)."""
        raise NotImplementedError

    def network(self) -> tuple[Any, Any, Any]:
        """The seeded network, its optimiser and its learning-rate schedule (or None) (hook)."""
        raise NotImplementedError

    def loss(self, model: Any, batch: np.ndarray) -> Any:
        """The scalar loss of one batch of example indices (hook)."""
        raise NotImplementedError

    def save(self, model: Any, tmp: Path) -> dict[str, Any]:
        """Write the model's files into ``tmp``; return manifest fields computed from them (hook)."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Model-specific manifest fields (hook)."""
        return {}

    def on_record(self, entry: dict[str, float]) -> None:
        """Called with every new loss-curve entry (progress printing)."""

    def on_epoch_end(self, epoch: int) -> None:
        """Called after every epoch (progress printing)."""

    # -- the skeleton --------------------------------------------------------------------------
    @property
    def total_steps(self) -> int:
        """Optimiser steps of the whole training: ``ceil(n_items / batch_size) * epochs``."""
        return -(-self.n_items // self.batch_size) * self.cfg.epochs

    def fit(self, checkpoint: Path | None = None) -> Any:
        """Train on the prepared examples; return the network (in eval mode). Sets ``curve`` and ``seconds``.

        ``checkpoint``: a file for the state after each epoch; a valid one (same spec, examples and dataset) is
        resumed from, anything else there is ignored and overwritten.

        Example:
            >>> model = trainer.fit()   # doctest: +SKIP
        """
        import torch

        from irrobust.rankers.scoring import torch_threads

        self.curve = []
        with torch_threads(self.threads), Stopwatch() as sw:
            seed_everything(self.cfg.seed)
            model, opt, sched = self.network()
            model.to(self.device)  # parameters move in place: the optimiser keeps them (a no-op on the CPU)
            model.train()
            # fp16 needs loss scaling (its exponent range underflows small gradients); bf16 and fp32 do not
            scaler = torch.amp.GradScaler(self.device.split(":")[0]) if self.precision == "fp16" else None
            step, window, start, before = 0, [], 0, 0.0
            if checkpoint is not None:
                step, window, start, before = self._resume(checkpoint, model, opt, sched, scaler)
            for epoch in range(start, self.cfg.epochs):
                for batch in batches(self.n_items, self.batch_size, self.cfg.seed, epoch):
                    with self._autocast():
                        loss = self.loss(model, batch)
                    opt.zero_grad(set_to_none=True)
                    (loss if scaler is None else scaler.scale(loss)).backward()
                    if scaler is not None:
                        scaler.unscale_(opt)  # clip (and step) on the true gradients
                    if self.clip_norm is not None:
                        torch.nn.utils.clip_grad_norm_(model.parameters(), self.clip_norm)
                    if scaler is None:
                        opt.step()
                    else:
                        scaler.step(opt)  # skipped when a gradient overflowed; the scale then shrinks
                        scaler.update()
                    if sched is not None:
                        sched.step()
                    step += 1
                    window.append(loss.item())
                    if step % self.log_every == 0:
                        self._record(step, epoch, window)
                        window = []
                if window and (self.flush_each_epoch or epoch == self.cfg.epochs - 1):
                    self._record(step, epoch, window)
                    window = []
                if checkpoint is not None and epoch + 1 < self.cfg.epochs:
                    self._save_state(checkpoint, epoch + 1, step, window, model, opt, sched, before + sw.elapsed,
                                     scaler)  # fmt: skip
                self.on_epoch_end(epoch)
            model.eval()
            if self.device.startswith("cuda"):
                model.cpu()  # the trained network comes back to the host (saving, surrogates)
        self.seconds = before + sw.seconds
        return model

    def _autocast(self) -> Any:
        """The forward pass's precision context: CUDA autocast in bf16 / fp16, nothing for fp32 (the CPU)."""
        import contextlib

        if self.precision == "fp32":
            return contextlib.nullcontext()
        import torch

        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(self.device.split(":")[0], dtype=dtype)  # CUDA (training_precision: fp32 on the CPU)

    def _state_key(self) -> str:
        """What a checkpoint must have been written for: the training spec, the examples and the dataset (and the
        precision when mixed: an fp32 checkpoint keeps the key it had before mixed precision existed)."""
        spec = {"kind": self.kind, "spec": self.cfg.training_spec(), "n_items": self.n_items,
                "dataset": getattr(self, "dataset_key", None)}  # fmt: skip
        if self.precision != "fp32":
            spec["precision"] = self.precision
        return json.dumps(spec, sort_keys=True, default=str)

    def _save_state(self, path: Path, epoch: int, step: int, window: list[float], model: Any, opt: Any, sched: Any,
                    seconds: float, scaler: Any = None) -> None:  # fmt: skip
        import io

        import torch

        from irrobust.util.io import atomic_write_bytes

        state = {"key": self._state_key(), "epoch": epoch, "step": step, "window": list(window), "seconds": seconds,
                 "curve": list(self.curve), "model": model.state_dict(), "optimizer": opt.state_dict(),
                 "scheduler": None if sched is None else sched.state_dict(), "rng": torch.get_rng_state()}  # fmt: skip
        if scaler is not None:
            state["scaler"] = scaler.state_dict()
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(path, buffer.getvalue())

    def _resume(self, path: Path, model: Any, opt: Any, sched: Any,
                scaler: Any = None) -> tuple[int, list[float], int, float]:  # fmt: skip
        """Restore the state saved by :meth:`_save_state` (``(step, window, next epoch, seconds)``), or start afresh."""
        import pickle

        import torch

        if not path.is_file():
            return 0, [], 0, 0.0
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)  # straight onto the device
        except (OSError, RuntimeError, EOFError, pickle.UnpicklingError):
            return 0, [], 0, 0.0  # unreadable (e.g. a foreign file): train from the start and overwrite it
        if not isinstance(state, dict) or state.get("key") != self._state_key():
            return 0, [], 0, 0.0
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        if sched is not None:
            sched.load_state_dict(state["scheduler"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"].cpu())  # torch's host generator takes a host tensor
        self.curve = list(state["curve"])
        if self.progress:
            print(f"[{self.label} {self.name}] resuming after epoch {state['epoch']}/{self.cfg.epochs}", flush=True)
        return int(state["step"]), list(state["window"]), int(state["epoch"]), float(state["seconds"])

    def _record(self, step: int, epoch: int, window: list[float]) -> None:
        entry = {"step": step, "epoch": epoch, "loss": float(np.mean(window))}
        self.curve.append(entry)
        self.on_record(entry)

    def train(self, dataset: Any, directory: Path | None = None, force: bool = False) -> Path:
        """The lifecycle: reuse a valid model of the same spec, else prepare, fit and write the model directory.

        The directory (default ``indexes_dir()/<collection>/models/<name>``) is written atomically with a
        ``manifest.json`` (base model, tokenizer + vocab hash, dataset, config, loss curve, training time, sha256 of
        every file).

        Example:
            >>> KNRMTrainer(KNRMConfig(max_queries=40), "knrm-small").train("beir/scifact/train")   # doctest: +SKIP
        """
        ds = resolve_dataset(dataset)
        final = directory or model_dir(ds.collection, self.name)
        if reusable_model(final, self.kind, ds, self.cfg.training_spec(), force):
            return final
        self.prepare(ds)
        self.dataset_key = [ds.id, ds.docs_checksum]
        checkpoint = final.parent / f".{final.name}.training.pt"
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        model = self.fit(checkpoint)

        def build(tmp: Path) -> dict[str, Any]:
            extra = self.save(model, tmp)
            described = self.describe()
            return {
                "kind": self.kind,
                "name": self.name,
                "dataset": ds.id,
                "collection": ds.collection,
                "docs_checksum": ds.docs_checksum,
                "base_model": {"name": MINILM_NAME, "package": minilm_package(), **described.pop("base_model", {})},
                "tokenizer": {"name": MINILM_TOKENIZER, "vocab_sha256": vocab_hash(self.tokenizer)},
                "config": self.cfg.training_spec(),
                "negatives": config_dict(self.cfg.negatives),
                "seed": self.cfg.seed,
                "epochs": self.cfg.epochs,
                "lr": self.cfg.lr,
                **described,
                "loss_curve": self.curve,
                "training_seconds": round(self.seconds, 2),
                "threads": self.threads,
                "training_device": self.device,
                "training_precision": self.precision,
                "weights": "model.safetensors",
                **extra,
            }

        manifest = write_model_dir(final, build)
        checkpoint.unlink(missing_ok=True)
        if self.progress:
            print(f"[{self.label} {self.name}] trained in {manifest['training_seconds']:.0f}s on {self.summary()} -> "
                  f"{final}", flush=True)  # fmt: skip
        return final

    def summary(self) -> str:
        """What the model was trained on, for the final progress line (e.g. ``"920 groups"``)."""
        return f"{self.n_items} examples"
