"""Run the noisy-implicit-feedback grid (method × backbone × rho × seed) through RecBole.

Design (why it looks like this):

* **irrobust splits, RecBole trains.** The PLD protocol (10-core users, per-user 70/10/20 split,
  noise into train only, see :mod:`irrobust.recsys.protocol`) is done in pandas, and RecBole gets
  pre-split atomic files ``<name>.train.inter / .valid.inter / .test.inter`` via
  ``benchmark_filename``. RecBole's own splitter cannot inject noise into train only nor tell
  which rows are noise, and pre-split files keep the split identical across methods/backbones.
* **RecBole's low-level API only** (``Config`` → ``create_dataset`` → ``data_preparation`` →
  model → trainer), never ``run_recbole`` (which imports ray). The trainers subclass RecBole's
  ``Trainer`` (:mod:`irrobust.recsys.training`); the graph of LightGCN is RecBole's, built from
  the noisy training file.
* **Evaluation** is irrobust's per-user full ranking (:mod:`irrobust.recsys.metrics`), because
  RecBole's evaluator only returns means; validation (early stopping on Recall@20, train
  masked) and test (train + valid masked) use the same code; the best-validation checkpoint is
  reloaded through RecBole's ``resume_checkpoint``.
* **Pairing.** All methods of one (backbone, rho, seed) start from the same initial model
  (same seed), and the split of a seed is shared by all rho (noise is nested across rho), so
  differences between methods are paired per user.
* **Units and checkpoints.** The grid is a task of the one protocol (:class:`RecsysGrid`): one unit per
  (backbone, method, rho, seed) training, keyed by a hash of everything that affects its numbers, run by an
  executor (:mod:`irrobust.core.executor`); each finished unit is a record of the one unit store
  (``run_dir/checkpoints/recsys/units/``); a re-run loads it instead of training (floats round-trip exactly
  through JSON). :func:`unit_records` reads the finished units of both layouts (the store, and the
  ``checkpoints/recsys/<unit>.json`` files of earlier versions).
* **Side effects.** Everything RecBole writes (atomic files, per-unit logs, the tensorboard
  writer it always opens, best-model ``.pth``) goes under ``run_dir/recbole/`` via
  :func:`irrobust.recsys.sandbox.recbole_sandbox`; ``.pth`` files are deleted after the unit
  unless ``keep_models``.

Results table (long format): ``dataset, system, task, condition, qid, measure, value, seed``:

* ``task="recsys-noise"``: one row per test user and measure (``Recall@20, Recall@50, NDCG@20,
  NDCG@50``), ``system="LightGCN/PLD"``, ``condition="rho=0.2"``, ``qid`` = the user id.
* ``task="recsys-noise-stats"``, ``qid="all"``: per-unit diagnostics -- ``noise_share_data``
  (share of injected rows in train), ``noise_share_used`` (share of the gradient weight that went
  to injected positives: sampled positives for standard/PLD, kept positives for T-CE, weight mass
  for R-CE; PLD after warm-up, T-CE after the ramp), ``noise_share_pool`` (PLD/uniform: noise share
  of the candidate pools), ``noise_drop_rate`` / ``clean_drop_rate`` (T-CE), ``weight_noise`` /
  ``weight_clean`` (R-CE mean weights), ``valid_Recall@K`` (best), ``best_epoch``, ``epochs_run``,
  ``epoch_seconds`` (mean training time per epoch), ``train_seconds``.

Example:
    >>> from irrobust.recsys.config import RecsysConfig
    >>> import tempfile, pathlib
    >>> cfg = RecsysConfig(max_users=100, rhos=[0.2], n_seeds=1, epochs=2, eval_step=1, backbones=["MF"],
    ...                    methods=["standard", "pld"], pld_warmup_epochs=1)
    >>> table = run_recsys(cfg, pathlib.Path(tempfile.mkdtemp()), seed=1, progress=False)  # doctest: +SKIP
    >>> sorted(table.system.unique())  # doctest: +SKIP
    ['MF/PLD', 'MF/standard']
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd
import torch

from irrobust.core.store import UnitStore
from irrobust.core.task import Unit, WorkerState
from irrobust.errors import DataError
from irrobust.recsys import compat  # noqa: F401  (before recbole)
from irrobust.recsys.config import BACKBONE_TO_RECBOLE, METHOD_LABELS, RecsysConfig, prepare_recbole_device
from irrobust.recsys.data import load_interactions, read_interactions, write_atomic_inter
from irrobust.recsys.protocol import Split, make_split
from irrobust.recsys.sandbox import recbole_sandbox
from irrobust.recsys.training import (
    NoiseAwareTrainer,
    PLDTrainer,
    RCETrainer,
    StandardTrainer,
    TCEPointwiseTrainer,
    TCETrainer,
    TrainContext,
)
from irrobust.util.compute import resolve_device
from irrobust.util.io import sha256_json

__all__ = [
    "TASK",
    "STATS_TASK",
    "PreparedUnit",
    "RecsysGrid",
    "RecsysOutput",
    "unit_records",
    "unit_rows_table",
    "load_config_interactions",
    "prepare_unit",
    "run_recsys",
    "run_unit",
    "unit_name",
]

TASK = "recsys-noise"
STATS_TASK = "recsys-noise-stats"
EPOCH_TASK = "recsys-noise-epoch"
#: per-epoch diagnostics copied into the results table (task EPOCH_TASK, qid = the 1-based epoch); plus
#: ``valid_score`` at every validated epoch
EPOCH_MEASURES = ("grad_factor_chosen", "grad_factor_uniform", "noise_share_sampled", "drop_rate")
COLUMNS = ["dataset", "system", "task", "condition", "qid", "measure", "value", "seed"]
#: config keys that do not change any number (excluded from the unit hash)
_NON_RESULT_KEYS = {"threads", "keep_models", "eval_batch_size", "n_seeds", "rhos", "backbones", "methods", "name",
                    "device"}  # the device enters a unit's hash only when it is CUDA (see run_recsys)
# 2: standard/T-CE/R-CE epochs from NoiseAwareTrainer.interaction_batches (not RecBole's loader): other numbers
# 3: irrobust's own selection loop (strictly better, in memory), 1-based epochs, PLD's partial last batch,
#    tce = pointwise T-CE as published (the BPR variant is tce_pairwise)
_FORMAT_VERSION = 3


def _safe(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", s).strip("-") or "data"


def unit_name(label: str, backbone: str, method: str, rho: float, seed: int) -> str:
    """File-name-safe id of one grid unit.

    Example:
        >>> unit_name("ml-100k", "LightGCN", "pld", 0.2, 2024)
        'ml-100k__LightGCN__pld__r0200__s2024'
    """
    return f"{_safe(label)}__{backbone}__{method}__r{int(round(rho * 1000)):04d}__s{seed}"


def _unit_seed(seed: int, backbone: str, rho: float) -> int:
    # identical for every method of (backbone, rho, seed): same initial model -> paired comparison
    return int(sha256_json([seed, backbone, round(rho, 6)])[:8], 16) % (2**31 - 1)


def load_config_interactions(cfg: RecsysConfig, run_dir: Path) -> pd.DataFrame:
    """The normalised interaction table the config points at.

    Example:
        >>> import tempfile, pathlib
        >>> load_config_interactions(RecsysConfig(dataset="lastfm"), pathlib.Path(tempfile.mkdtemp())).shape
        (52668, 2)
    """
    if cfg.dataset == "custom":
        assert cfg.interactions_file is not None  # guaranteed by the config validator
        return read_interactions(
            cfg.interactions_file, cfg.user_column, cfg.item_column, cfg.timestamp_column, sep=cfg.separator
        )
    return load_interactions(cfg.dataset, download_dir=run_dir / "recbole" / "download")


def _recbole_config_dict(
    cfg: RecsysConfig, data_path: Path, saved: Path, unit_seed: int, backbone: str
) -> dict[str, Any]:
    return {
        "data_path": str(data_path),
        "checkpoint_dir": str(saved),
        "benchmark_filename": ["train", "valid", "test"],
        "load_col": {"inter": ["user_id", "item_id"]},
        "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id",
        "user_inter_num_interval": "[0,inf)",
        "item_inter_num_interval": "[0,inf)",
        "use_gpu": False,
        "seed": unit_seed,
        "reproducibility": True,
        "show_progress": False,
        "state": "INFO",
        "log_wandb": False,
        "save_dataset": False,
        "save_dataloaders": False,
        "epochs": cfg.epochs,
        "train_batch_size": cfg.batch_size,
        "learner": cfg.optimizer,
        "learning_rate": cfg.lr(backbone),
        "weight_decay": cfg.weight_decay,
        "embedding_size": cfg.embedding_size,
        "n_layers": cfg.n_layers,
        # irrobust's trainers apply cfg.reg_weight themselves; RecBole's own LightGCN loss (unused) gets 0, which
        # also avoids its "weight_decay and reg_weight specified simultaneously" warning
        "reg_weight": 0.0,
        "eval_step": cfg.eval_step,
        "stopping_step": cfg.stopping_step,
        "metrics": ["Recall", "NDCG"],
        "topk": list(cfg.topk),
        "valid_metric": f"Recall@{cfg.valid_k}",
        "eval_batch_size": cfg.eval_batch_size,
        "train_neg_sample_args": {
            "distribution": "uniform",
            "sample_num": 1,
            "alpha": 1.0,
            "dynamic": False,
            "candidate_num": 0,
        },
        "eval_args": {"group_by": "user", "order": "RO", "split": {"RS": [0.7, 0.1, 0.2]}, "mode": "full"},
    }


@contextlib.contextmanager
def _plain_argv() -> Iterator[None]:
    """Hide the host program's command line from RecBole's ``Config``, which parses ``--key=value`` args of sys.argv
    as config overrides (e.g. an ``irrobust run ... --seed=1`` would silently change RecBole's seed)."""
    old = sys.argv
    sys.argv = old[:1]
    try:
        yield
    finally:
        sys.argv = old


def _write_split_files(split: Split, data_path: Path, ds_name: str) -> None:
    folder = data_path / ds_name
    for part, frame in (("train", split.train), ("valid", split.valid), ("test", split.test)):
        f = folder / f"{ds_name}.{part}.inter"
        if not f.is_file():
            write_atomic_inter(frame[["user", "item"]], f)


def _make_trainer(
    cfg: RecsysConfig, method: str, config: Any, model: torch.nn.Module, ctx: TrainContext, seed: int
) -> NoiseAwareTrainer:
    common = dict(
        reg_weight=cfg.reg_weight,
        seed=seed,
        ks=tuple(cfg.topk),
        valid_k=cfg.valid_k,
        eval_batch_size=cfg.eval_batch_size,
    )
    if method == "standard":
        return StandardTrainer(config, model, ctx, **common)
    if method == "tce":
        return TCEPointwiseTrainer(
            config, model, ctx, max_drop=cfg.tce_max_drop, ramp_iterations=cfg.tce_ramp_iterations, **common
        )
    if method == "tce_pairwise":
        return TCETrainer(config, model, ctx, max_drop=cfg.tce_max_drop, ramp_epochs=cfg.tce_ramp_epochs, **common)
    if method == "rce":
        return RCETrainer(config, model, ctx, beta=cfg.rce_beta, **common)
    if method in ("pld", "uniform"):
        return PLDTrainer(
            config,
            model,
            ctx,
            k=cfg.pld_k,
            tau=cfg.pld_tau,
            warmup_epochs=cfg.pld_warmup_epochs,
            batch_size=cfg.batch_size,
            resample=(method == "pld"),
            epoch_rows=cfg.pld_epoch_rows,
            **common,
        )
    raise ValueError(method)


def _noise_stats(method: str, cfg: RecsysConfig, split: Split, epoch_stats: list[dict[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {"noise_share_data": split.noise_share}
    if method == "pld":
        phase = [e for e in epoch_stats if e["resampled"]]
    elif method == "tce_pairwise":  # epochs (1-based) that start after the ramp
        phase = [e for e in epoch_stats if e["epoch"] - 1 >= cfg.tce_ramp_epochs]
    else:
        phase = epoch_stats
    phase = phase or epoch_stats
    tot = {
        k: sum(e[k] for e in phase)
        for k in ("n", "n_noise", "w", "w_noise", "pool", "pool_noise", "dropped", "dropped_noise")
    }
    out["noise_share_used"] = tot["w_noise"] / tot["w"] if tot["w"] else float("nan")
    out["noise_share_sampled"] = tot["n_noise"] / tot["n"] if tot["n"] else float("nan")
    if method in ("pld", "uniform"):
        out["noise_share_pool"] = tot["pool_noise"] / tot["pool"] if tot["pool"] else float("nan")
    gf_n = sum(e.get("gf_n", 0) for e in phase)
    out["grad_factor_chosen"] = sum(e.get("gf_chosen", 0.0) for e in phase) / gf_n if gf_n else float("nan")
    if method in ("pld", "uniform"):
        out["grad_factor_uniform"] = sum(e.get("gf_uniform", 0.0) for e in phase) / gf_n if gf_n else float("nan")
    if method in ("tce", "tce_pairwise"):
        if method == "tce":
            out["drop_rate_final"] = float(epoch_stats[-1].get("drop_rate", float("nan"))) if epoch_stats else 0.0
        n_clean = tot["n"] - tot["n_noise"]
        out["noise_drop_rate"] = tot["dropped_noise"] / tot["n_noise"] if tot["n_noise"] else float("nan")
        out["clean_drop_rate"] = (tot["dropped"] - tot["dropped_noise"]) / n_clean if n_clean else float("nan")
    if method == "rce":
        n_clean = tot["n"] - tot["n_noise"]
        out["weight_noise"] = tot["w_noise"] / tot["n_noise"] if tot["n_noise"] else float("nan")
        out["weight_clean"] = (tot["w"] - tot["w_noise"]) / n_clean if n_clean else float("nan")
    return out


def init_embeddings(model: torch.nn.Module, std: float, seed: int) -> None:
    """Draw the user and item embedding tables from ``N(0, std²)`` (the PLD reference: ``normal_(std=0.1)``).

    Example:
        >>> m = torch.nn.Module(); m.user_embedding = torch.nn.Embedding(50, 8); m.item_embedding = torch.nn.Embedding(90, 8)
        >>> init_embeddings(m, 0.1, 0); round(float(m.item_embedding.weight.detach().std()), 1)
        0.1
    """
    g = torch.Generator().manual_seed(int(seed) + 104729)
    with torch.no_grad():
        for table in (model.user_embedding, model.item_embedding):
            w = table.weight
            w.copy_(torch.randn(w.shape, generator=g, dtype=w.dtype) * std)


@dataclass
class PreparedUnit:
    """RecBole objects of one unit, built inside a :func:`recbole_sandbox` (see :func:`prepare_unit`)."""

    name: str
    config: Any
    dataset: Any
    train_data: Any
    valid_data: Any
    model: torch.nn.Module
    ctx: TrainContext
    trainer: NoiseAwareTrainer
    private_dir: Path | None = None


def prepare_unit(cfg: RecsysConfig, split: Split, label: str, backbone: str, method: str, work: Path) -> PreparedUnit:
    """Write the split's atomic files and build RecBole config, dataset, loaders, model and trainer.

    Must be called inside ``recbole_sandbox(work)`` (RecBole's trainer opens a CWD-relative
    tensorboard writer).

    Example:
        >>> with recbole_sandbox(work): unit = prepare_unit(cfg, split, "ml-100k", "MF", "pld", work)  # doctest: +SKIP
    """
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, init_seed

    name = unit_name(label, backbone, method, split.rho, split.seed)
    ds_name = f"{_safe(label)}_r{int(round(split.rho * 1000)):04d}_s{split.seed}"
    # Everything RecBole reads back lives in a fresh private directory made for this unit: RecBole's
    # create_dataset / data_preparation pickle.load '<checkpoint_dir>/<dataset>-Dataset.pth' and
    # '...-dataloader.pth' whenever such a file exists, so a reused run directory must never be checkpoint_dir,
    # and pre-split files found there are never trusted either.
    private = Path(tempfile.mkdtemp(prefix=f".unit-{name[:60]}-", dir=work))
    data_path = private / "data"
    saved = private / "saved"
    _write_split_files(split, data_path, ds_name)
    seed = _unit_seed(split.seed, backbone, split.rho)
    with warnings.catch_warnings(), _plain_argv():
        # RecBole's fillna(inplace=True) on a column copy (pandas FutureWarning; harmless with pandas 2.x)
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"recbole\.")
        # the device resolved (CUDA started with this process's own numbering) and mapped to RecBole's use_gpu /
        # gpu_id (empty on the CPU: RecBole's Config then asks nothing of CUDA); the CUDA_VISIBLE_DEVICES that
        # Config writes is restored by recbole_sandbox
        dev = prepare_recbole_device(cfg.device)
        config = Config(
            model=BACKBONE_TO_RECBOLE[backbone],
            dataset=ds_name,
            config_dict={**_recbole_config_dict(cfg, data_path, saved, seed, backbone), "use_gpu": dev["use_gpu"],
                         "gpu_id": dev["gpu_id"]},  # fmt: skip
        )
        config["device"] = torch.device(dev["device"])  # the device the user named (cuda:N), not RecBole's "cuda"
        init_seed(seed, True)
        dataset = create_dataset(config)
        train_data, valid_data, _test_data = data_preparation(config, dataset)
    uf, itf = dataset.uid_field, dataset.iid_field
    tok = dataset.token2id
    ctx = TrainContext.from_arrays(
        dataset.user_num,
        dataset.item_num,
        tok(uf, split.train.user.to_numpy()),
        tok(itf, split.train.item.to_numpy()),
        split.train.noise.to_numpy(dtype=bool),
        tok(uf, split.valid.user.to_numpy()),
        tok(itf, split.valid.item.to_numpy()),
        tok(uf, split.test.user.to_numpy()),
        tok(itf, split.test.item.to_numpy()),
    )
    init_seed(seed, True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"torch\.sparse\.SparseTensor")  # RecBole's LightGCN adjacency
        model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    if cfg.init_std is not None:
        init_embeddings(model, cfg.init_std, seed)
    trainer = _make_trainer(cfg, method, config, model, ctx, seed)
    trainer.saved_model_file = ""  # irrobust keeps the best model in memory (NoiseAwareTrainer.fit_select)
    return PreparedUnit(name, config, dataset, train_data, valid_data, model, ctx, trainer, private)


def run_unit(cfg: RecsysConfig, split: Split, label: str, backbone: str, method: str, work: Path) -> dict[str, Any]:
    """Train and evaluate one (backbone, method) on one split; returns the JSON-able unit record.

    ``work`` is the RecBole sandbox directory (under the run directory).

    Example:
        >>> rec = run_unit(cfg, split, "ml-100k", "MF", "pld", run_dir / "recbole")  # doctest: +SKIP
    """
    name = unit_name(label, backbone, method, split.rho, split.seed)
    t_start = perf_counter()
    unit = None
    try:
        with recbole_sandbox(work, log_name=f"{name}.log"):
            unit = prepare_unit(cfg, split, label, backbone, method, work)
            trainer = unit.trainer
            try:
                trainer.fit_select(cfg.epochs, cfg.eval_step, cfg.select_from_epoch, cfg.stopping_step)
            finally:
                trainer.tensorboard.close()
            test = trainer.per_user_metrics("test")
            valid = trainer.per_user_metrics("valid")
            users = unit.dataset.id2token(unit.dataset.uid_field, unit.ctx.test.users.numpy()).tolist()
    finally:
        if unit is not None and unit.private_dir is not None:
            shutil.rmtree(unit.private_dir, ignore_errors=True)
    if cfg.keep_models:  # written, never read back by irrobust
        models = work / "models"
        models.mkdir(parents=True, exist_ok=True)
        tmp = models / f".{name}.pth.tmp"
        torch.save(trainer.model.state_dict(), tmp)
        tmp.replace(models / f"{name}.pth")
    stats = _noise_stats(method, cfg, split, trainer.epoch_stats)
    ep_secs = [e["seconds"] for e in trainer.epoch_stats]
    stats.update(
        {
            f"valid_Recall@{cfg.valid_k}": float(valid[f"Recall@{cfg.valid_k}"].mean()),
            "best_epoch": float(trainer.best_epoch),
            "epochs_run": float(len(trainer.epoch_stats)),
            "epoch_seconds": float(np.mean(ep_secs)) if ep_secs else float("nan"),
            "train_seconds": perf_counter() - t_start,
        }
    )
    return {
        "unit": name,
        "users": [str(u) for u in users],
        "metrics": {k: [float(x) for x in v] for k, v in test.items()},
        "stats": {k: float(v) for k, v in stats.items()},
        "epoch_stats": trainer.epoch_stats,
        "valid_history": trainer.valid_history,
    }


def _records_to_rows(rec: dict[str, Any], label: str, backbone: str, method: str, rho: float, seed: int) -> list:
    system = f"{backbone}/{METHOD_LABELS[method]}"
    cond = f"rho={rho:g}"
    rows = []
    for measure, values in sorted(rec["metrics"].items()):  # sorted: JSON checkpoints store keys sorted
        rows.extend((label, system, TASK, cond, u, measure, v, seed) for u, v in zip(rec["users"], values, strict=True))
    rows.extend((label, system, STATS_TASK, cond, "all", k, v, seed) for k, v in sorted(rec["stats"].items()))
    for e in rec.get("epoch_stats", []):
        vals = {
            "grad_factor_chosen": e.get("grad_factor_chosen", float("nan")),
            "grad_factor_uniform": e.get("grad_factor_uniform", float("nan")),
            "noise_share_sampled": e["n_noise"] / e["n"] if e.get("n") else float("nan"),
            "drop_rate": e.get("drop_rate", float("nan")) if method == "tce" else float("nan"),
        }
        rows.extend(
            (label, system, EPOCH_TASK, cond, str(int(e["epoch"])), m, float(vals[m]), seed)
            for m in EPOCH_MEASURES
            if vals[m] == vals[m]  # skip NaN
        )
    # the selection score of every validation (Recall@valid_k; T-CE: minus the validation loss)
    rows.extend(
        (label, system, EPOCH_TASK, cond, str(int(e)), "valid_score", float(v), seed)
        for e, v in rec.get("valid_history", [])
    )
    return rows


@dataclass
class RecsysOutput:
    """The typed output of :class:`RecsysGrid`: the long results table (see the module docstring).

    Example:
        >>> RecsysOutput(pd.DataFrame(columns=COLUMNS)).table.columns[-1]
        'seed'
    """

    table: pd.DataFrame


def _interactions(config: RecsysConfig, run_dir: str) -> pd.DataFrame:
    """The grid's interactions, loaded in a worker process (:class:`~irrobust.core.task.WorkerState` factory)."""
    return load_config_interactions(config, Path(run_dir))


class RecsysGrid:
    """The noisy-implicit-feedback grid as a task (:mod:`irrobust.core.task`): one unit per (backbone, method, rho,
    seed) training, keyed by the hash of everything that affects its numbers (the format version, the result-relevant
    configuration, the interactions' hash and the unit's coordinates).

    Units come rho-outer in the configured order, then seed, then (backbone, method): a partially finished grid
    holds complete (rho, all seeds) blocks; the order changes no number (each unit's split, initial model and
    sampling are seeded by (rho, seed, backbone)). A unit's result is :func:`run_unit`'s record plus its
    coordinates (``id``); the splits are made once per process and (rho, seed).

    Example:
        >>> cfg = RecsysConfig(rhos=[0.2], n_seeds=1, backbones=["MF"], methods=["standard", "pld"])
        >>> grid = RecsysGrid(cfg, "/tmp/run", 2024, WorkerState(pd.DataFrame), "h", {})
        >>> [u.label for u in grid.units()]
        ['ml-100k__MF__standard__r0200__s2024', 'ml-100k__MF__pld__r0200__s2024']
    """

    name = "recsys"

    def __init__(self, config: RecsysConfig, run_dir: str | Path, seed: int,
                 interactions: WorkerState[pd.DataFrame], data_hash: str, cfg_dump: dict[str, Any]) -> None:  # fmt: skip
        self.config, self.run_dir, self.seed = config, str(run_dir), int(seed)
        self.interactions, self.data_hash, self.cfg_dump = interactions, data_hash, cfg_dump
        self._splits: WorkerState[dict[tuple[float, int], Split]] = WorkerState(dict)

    def units(self) -> list[Unit]:
        """One unit per grid cell, rho-outer (see the class docstring)."""
        out = []
        for rho in self.config.rhos:
            for s in self.config.seeds(self.seed):
                for backbone, method in self.config.systems():
                    key = sha256_json({"v": _FORMAT_VERSION, "cfg": self.cfg_dump, "data": self.data_hash,
                                       "unit": [backbone, method, rho, s]})  # fmt: skip
                    out.append(Unit(key, {"backbone": backbone, "method": method, "rho": rho, "seed": s},
                                    unit_name(self.config.label, backbone, method, rho, s)))  # fmt: skip
        return out

    def split(self, rho: float, seed: int) -> Split:
        """The (rho, seed) split, made once per process."""
        splits = self._splits.get()
        if (rho, seed) not in splits:
            c = self.config
            splits[(rho, seed)] = make_split(self.interactions.get(), rho, seed, min_interactions=c.min_user_interactions,
                                             ratios=c.split, exclude_heldout=c.noise_excludes_heldout,
                                             max_users=c.max_users)  # fmt: skip
        return splits[(rho, seed)]

    def run(self, unit: Unit) -> dict[str, Any]:
        """Train and evaluate one grid cell (:func:`run_unit`); RecBole's files go under ``<run_dir>/recbole``."""
        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        u = unit.inputs
        rec = run_unit(self.config, self.split(u["rho"], u["seed"]), self.config.label, u["backbone"], u["method"],
                       Path(self.run_dir) / "recbole")  # fmt: skip
        rec["id"] = {"label": self.config.label, **u}
        return rec

    def combine(self, results: Sequence[dict[str, Any]]) -> RecsysOutput:
        """The long results table of the records, in unit order."""
        rows: list = []
        for unit, rec in zip(self.units(), results, strict=True):
            u = unit.inputs
            rows.extend(_records_to_rows(rec, self.config.label, u["backbone"], u["method"], u["rho"], u["seed"]))
        return RecsysOutput(_table(rows))


def _table(rows: list) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["seed"] = table["seed"].astype(int)
    table["value"] = table["value"].astype(float)
    return table


#: where the unit records of a run directory live: the one unit store (:class:`~irrobust.core.store.UnitStore`)
STORE_DIR = ("checkpoints", "recsys", "units")


def _adopt_legacy(grid: RecsysGrid, store: UnitStore, ck_dir: Path) -> int:
    """Records of the earlier layout (``checkpoints/recsys/<unit>.json`` with a ``hash`` equal to the unit's key)
    become records of the unit store, so such a run resumes instead of training again; returns how many."""
    n = 0
    for unit in grid.units():
        path = ck_dir / f"{unit.label}.json"
        if unit.key in store or not path.is_file():
            continue
        try:
            rec = json.loads(path.read_text())
        except (json.JSONDecodeError, OSError):
            continue
        if isinstance(rec, dict) and rec.get("hash") == unit.key:
            rec = {k: v for k, v in rec.items() if k != "hash"}
            rec["id"] = {"label": grid.config.label, **unit.inputs}
            store.put(unit.key, rec)
            n += 1
    return n


def unit_records(run_dir: str | Path) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The finished units of a recsys run directory, both layouts: ``(id, record)`` pairs sorted by unit name, where
    ``id`` = ``{label, backbone, method, rho, seed}``. Records of the unit store (``checkpoints/recsys/units/``)
    carry their ``id``; records of the earlier layout (``checkpoints/recsys/<label>__<backbone>__<method>__r<rho
    x 1000>__s<seed>.json``) are named by it. A unit in both is read from the store. Reads JSON only.

    Example:
        >>> unit_records("/nonexistent")
        []
    """
    ck = Path(run_dir) / "checkpoints" / "recsys"
    found: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for f in sorted(ck.glob("*.json")):  # the earlier layout
        parts = f.stem.split("__")
        if len(parts) != 5 or not re.fullmatch(r"r\d+", parts[3]) or not re.fullmatch(r"s\d+", parts[4]):
            continue
        try:
            rec = json.loads(f.read_text())
        except (json.JSONDecodeError, OSError):
            continue
        label, backbone, method, r, sd = parts
        found[f.stem] = ({"label": label, "backbone": backbone, "method": method, "rho": int(r[1:]) / 1000,
                          "seed": int(sd[1:])}, rec)  # fmt: skip
    for f in sorted(ck.joinpath(*STORE_DIR[2:]).rglob("*.json")):  # the unit store
        try:
            rec = json.loads(f.read_text())["result"]
            ident = rec["id"]
            name = unit_name(ident["label"], ident["backbone"], ident["method"], ident["rho"], ident["seed"])
        except (json.JSONDecodeError, OSError, KeyError, TypeError):
            continue
        found[name] = (ident, rec)
    return [found[k] for k in sorted(found)]


def unit_rows_table(run_dir: str | Path) -> pd.DataFrame:
    """The long results table of a recsys run directory's finished units (:func:`unit_records`; both layouts);
    empty when it has none.

    Example:
        >>> len(unit_rows_table("/nonexistent"))
        0
    """
    rows: list = []
    for ident, rec in unit_records(run_dir):
        rows.extend(_records_to_rows(rec, ident["label"], ident["backbone"], ident["method"], float(ident["rho"]),
                                     int(ident["seed"])))  # fmt: skip
    return _table(rows)


def run_recsys(config: RecsysConfig, run_dir: Path, seed: int, progress: bool = True,
               executor: Any = None) -> pd.DataFrame:  # fmt: skip
    """Run (or resume) the whole grid and return the long results table.

    The grid is a :class:`RecsysGrid` task: its units (one training each) run on ``executor`` (default: in this
    process) and their records go to the one unit store ``run_dir/checkpoints/recsys/units/``; a rerun reuses them
    (and adopts the per-unit files of the earlier layout, ``checkpoints/recsys/<unit>.json``, whose hash matches).

    Args:
        config: the validated ``recsys:`` section.
        run_dir: the run directory; checkpoints go to ``run_dir/checkpoints/recsys/``, RecBole's files to
            ``run_dir/recbole/``. Nothing is written elsewhere.
        seed: the pipeline's top-level seed; seeds ``seed .. seed+n_seeds-1`` are run.
        progress: print one line per unit to stderr.
        executor: who runs the units (:mod:`irrobust.core.executor`).

    Returns:
        Columns ``dataset, system, task, condition, qid, measure, value, seed`` (see module docstring).

    Example:
        >>> table = run_recsys(RecsysConfig(), pathlib.Path("runs/x"), seed=2024)  # doctest: +SKIP
    """
    from irrobust.core.executor import LocalExecutor, run_task

    run_dir = Path(run_dir).resolve()
    ck_dir = run_dir / "checkpoints" / "recsys"
    ck_dir.mkdir(parents=True, exist_ok=True)
    if config.threads:
        torch.set_num_threads(config.threads)
    df = load_config_interactions(config, run_dir)
    data_hash = sha256_json([int(pd.util.hash_pandas_object(df[["user", "item"]], index=False).sum()), len(df)])
    cfg_dump = {k: v for k, v in config.model_dump(mode="json").items() if k not in _NON_RESULT_KEYS}
    device = resolve_device(config.device, where="recsys.device")
    if device.startswith("cuda"):  # CUDA float order differs; CPU checkpoints keep their hashes
        cfg_dump["device"] = device
    state = WorkerState(functools.partial(_interactions, config, str(run_dir)), df)
    grid = RecsysGrid(config, run_dir, seed, state, data_hash, cfg_dump)
    store = UnitStore(run_dir.joinpath(*STORE_DIR))
    _adopt_legacy(grid, store, ck_dir)
    units = grid.units()
    t0, done = perf_counter(), [sum(u.key in store for u in units)]
    if progress and done[0]:
        print(f"[recsys] {done[0]}/{len(units)} units already stored", file=sys.stderr, flush=True)

    def report(unit: Unit, rec: dict[str, Any]) -> None:
        done[0] += 1
        if progress:
            r20 = np.mean(rec["metrics"].get(f"Recall@{config.valid_k}", [np.nan]))
            print(f"[recsys {done[0]}/{len(units)} {perf_counter() - t0:7.1f}s] {unit.label}: test "
                  f"Recall@{config.valid_k}={r20:.4f} noise_used={rec['stats']['noise_share_used']:.3f} "
                  f"({rec['stats']['train_seconds']:.1f}s)", file=sys.stderr, flush=True)  # fmt: skip

    table = run_task(grid, store, executor if executor is not None else LocalExecutor(), report).table
    if table.empty:
        raise DataError("the recsys grid produced no results", where="recsys")
    return table
