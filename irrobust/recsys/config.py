"""Schema of the ``recsys:`` section of a ``kind: recsys`` pipeline file.

Example:
    >>> cfg = RecsysConfig(dataset="ml-100k", rhos=[0.0, 0.2], n_seeds=1, epochs=10)
    >>> cfg.systems()[:2]
    [('MF', 'standard'), ('MF', 'pld')]
    >>> RecsysConfig(rhos=[0.2, 0.2])   # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    pydantic_core._pydantic_core.ValidationError: ...
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from irrobust.errors import ConfigError
from irrobust.util.compute import Device, resolve_device
from irrobust.util.schema import Strict

__all__ = ["BACKBONE_TO_RECBOLE", "METHOD_LABELS", "REFERENCE_PRESET", "RecsysConfig", "parse_recsys_config",
           "prepare_recbole_device", "recbole_device"]

#: backbone label used in system names -> RecBole model class name
BACKBONE_TO_RECBOLE = {"MF": "BPR", "LightGCN": "LightGCN"}
#: method key -> label used in system names ("LightGCN/PLD")
METHOD_LABELS = {
    "standard": "standard",
    "tce": "T-CE",
    "tce_pairwise": "T-CE-pair",
    "rce": "R-CE",
    "pld": "PLD",
    "uniform": "Origin",
}

Backbone = Literal["MF", "LightGCN"]
Method = Literal["standard", "tce", "tce_pairwise", "rce", "pld", "uniform"]

#: what ``protocol: reference`` fixes: the PLD authors' schedule (Kaike-Zhang/PLD ``meta_config.py``,
#: ``utls/trainer.py``): 100 epochs at lr 1e-3, N(0, 0.1) initial embeddings, validation every 20 epochs with
#: model selection only among epochs >= 40 (i.e. {40, 60, 80, 100}; patience 100 at interval 20 never stops
#: within 100 epochs), and PLD/Origin epochs of ``#clean training rows / batch`` batches.
REFERENCE_PRESET: dict[str, object] = {
    "epochs": 100,
    "learning_rate": 1e-3,
    "learning_rate_by_backbone": {},
    "init_std": 0.1,
    "eval_step": 20,
    "select_from_epoch": 40,
    "stopping_step": 4,
    "pld_epoch_rows": "clean",
}


class RecsysConfig(Strict):
    """Noisy-implicit-feedback robustness grid: methods × backbones × rho × seeds on one dataset.

    Seeds are ``seed, seed+1, ..., seed+n_seeds-1`` where ``seed`` is the pipeline's top-level seed.

    Example:
        >>> RecsysConfig(methods=["standard", "pld"], backbones=["LightGCN"]).systems()
        [('LightGCN', 'standard'), ('LightGCN', 'pld')]
    """


    # --- data -----------------------------------------------------------------------------
    dataset: Literal["ml-100k", "lastfm", "custom"] = Field(
        "ml-100k",
        description="'ml-100k' (u.data, every rating an implicit interaction), 'lastfm' (LightGCN data1.txt+test1.txt "
        "merged) from the seed directory, or 'custom' to read `interactions_file`.",
    )
    name: str | None = Field(
        None, description="Dataset label in the results table; defaults to `dataset` (or the custom file's stem)."
    )
    interactions_file: Path | None = Field(
        None, description="Custom interaction log (CSV/TSV); required iff dataset == 'custom'."
    )
    user_column: str = Field("user", description="User-id column of the custom file.")
    item_column: str = Field("item", description="Item-id column of the custom file.")
    timestamp_column: str | None = Field(None, description="Optional timestamp column of the custom file.")
    separator: str = Field(",", description="Field separator of the custom file (e.g. ',' or '\\t').")
    min_user_interactions: int = Field(10, ge=3, description="Users with fewer interactions are dropped (PLD: 10).")
    max_users: int | None = Field(
        None, ge=10, description="Keep a fixed random subset of this many users (quick runs/tests); None = all."
    )
    split: tuple[float, float, float] = Field(
        (0.7, 0.1, 0.2), description="Per-user train/valid/test ratios (PLD: 0.7/0.1/0.2)."
    )
    noise_excludes_heldout: bool = Field(
        False,
        description="Draw noise only from items outside the user's train+valid+test (False = the authors' protocol: "
        "outside train only, so noise may hit held-out items).",
    )

    # --- protocol -----------------------------------------------------------------------------
    protocol: Literal["irrobust", "reference"] = Field(
        "irrobust",
        description="'reference' = the PLD authors' schedule (REFERENCE_PRESET: 100 epochs, lr 1e-3, N(0, 0.1) init, "
        "validation every 20 epochs, selection among epochs 40/60/80/100, PLD/Origin epochs of #clean train / batch "
        "batches); a key it fixes may not be set to another value. 'irrobust' = every key as given (early stopping).",
    )

    # --- grid -------------------------------------------------------------------------------
    rhos: list[float] = Field(
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.5], description="Noise ratios rho: floor(rho*|train_u|) items added per user."
    )
    n_seeds: int = Field(5, ge=1, le=100, description="Seeds seed..seed+n_seeds-1 (split, noise, init, sampling).")
    backbones: list[Backbone] = Field(
        ["MF", "LightGCN"], description="'MF' (RecBole BPR model: MF trained with BPR) and/or 'LightGCN'."
    )
    methods: list[Method] = Field(
        ["standard", "pld"],
        description="'standard' (RecBole's interaction-wise BPR loop), 'tce' (truncated loss), 'rce' (reweighted loss), "
        "'pld' (personal loss distribution resampling), 'uniform' (the PLD authors' 'Origin' trainer: users "
        "uniformly, one uniform positive each), 'tce' (T-CE as published: pointwise BCE, drop the highest-loss "
        "positives, selection on validation loss), 'tce_pairwise' (T-CE on BPR pairs).",
    )

    # --- training (shared by all methods) ----------------------------------------------------
    epochs: int = Field(100, ge=1, description="Maximum training epochs (PLD: 100).")
    batch_size: int = Field(2048, ge=16, description="Training batch size (PLD: 2048).")
    learning_rate: float = Field(1e-3, gt=0, description="Learning rate (PLD: 1e-3).")
    learning_rate_by_backbone: dict[Backbone, float] = Field(
        {}, description="Per-backbone learning-rate overrides, e.g. {LightGCN: 0.01}; others use learning_rate."
    )
    optimizer: Literal["adamw", "adam"] = Field("adamw", description="Optimiser (PLD: AdamW).")
    weight_decay: float = Field(
        0.01, ge=0, description="Optimiser weight decay (PLD's AdamW default 0.01; decoupled for AdamW)."
    )
    embedding_size: int = Field(64, ge=2, description="Embedding dimension (PLD: 64).")
    n_layers: int = Field(3, ge=1, le=6, description="LightGCN propagation layers (PLD: 3).")
    reg_weight: float = Field(
        1e-4, ge=0, description="lambda of the L2 penalty on the ego embeddings of (u, i, n), all methods (PLD: 1e-4)."
    )
    init_std: float | None = Field(
        None,
        gt=0,
        description="Initialise the user/item embeddings from N(0, init_std^2) (reference: 0.1); None = RecBole's "
        "initialisation (xavier).",
    )
    eval_step: int = Field(5, ge=1, description="Validate after every epoch e (1-based) with e % eval_step == 0.")
    select_from_epoch: int = Field(
        0,
        ge=0,
        description="Only validations at epochs >= this are eligible for model selection and early stopping "
        "(reference: 40).",
    )
    stopping_step: int = Field(
        10,
        ge=1,
        description="Early stopping: stop after more than this many eligible validations without improvement.",
    )
    topk: list[int] = Field([20, 50], description="Cut-offs for Recall@K and NDCG@K.")
    valid_k: int = Field(20, ge=1, description="Model selection metric is valid Recall@valid_k (must be in topk).")
    eval_batch_size: int = Field(1024, ge=1, description="Users per batch in full-ranking evaluation.")
    threads: int | None = Field(None, ge=1, description="torch intra-op threads; None = leave torch's default.")
    device: Device = Field(
        "auto",
        description="Where the models train: 'auto' (CUDA when available), 'cpu', 'cuda' or 'cuda:N'; not part of "
        "the results' identity on the CPU (checkpoints made on the CPU stay valid).",
    )
    keep_models: bool = Field(False, description="Keep RecBole's best-model .pth per unit under the run directory.")

    # --- method hyper-parameters ---------------------------------------------------------------
    pld_k: int = Field(5, ge=1, description="PLD candidate pool size k per user (PLD: 5).")
    pld_tau: float = Field(0.1, gt=0, description="PLD softmax temperature tau over -loss (PLD: 0.1).")
    pld_warmup_epochs: int = Field(5, ge=0, description="PLD warm-up epochs with uniform positives (PLD: 5).")
    pld_epoch_rows: Literal["noisy", "clean"] = Field(
        "noisy",
        description="PLD/Origin epoch length: this many sampled users per epoch, in batches of batch_size: the noisy "
        "training size ('noisy') or the clean one ('clean', the reference: its DataLoader runs over the clean split).",
    )
    tce_max_drop: float = Field(0.2, ge=0, lt=1, description="T-CE maximum drop rate (Wang et al.: 0.1-0.2).")
    tce_ramp_iterations: int = Field(
        30000,
        ge=1,
        description="T-CE (pointwise): the drop rate rises linearly from 0 to tce_max_drop over this many iterations "
        "(Wang et al.: num_gradual = 30000).",
    )
    tce_ramp_epochs: float = Field(
        10.0, gt=0, description="tce_pairwise: the drop rate rises linearly from 0 to tce_max_drop over this many epochs."
    )
    rce_beta: float = Field(0.25, ge=0, description="R-CE exponent beta: weight = sigmoid(s_ui - s_uj)^beta.")

    @model_validator(mode="after")
    def _check(self) -> RecsysConfig:
        if self.protocol == "reference":
            for key, value in REFERENCE_PRESET.items():
                if key in self.model_fields_set and getattr(self, key) != value:
                    raise ValueError(
                        f"protocol 'reference' fixes {key}={value!r}; remove {key} or use protocol 'irrobust'"
                    )
                object.__setattr__(self, key, value if not isinstance(value, dict) else dict(value))
        if self.dataset == "custom" and self.interactions_file is None:
            raise ValueError("dataset 'custom' needs interactions_file")
        if self.dataset != "custom" and self.interactions_file is not None:
            raise ValueError(f"interactions_file is only used with dataset 'custom', not {self.dataset!r}")
        if abs(sum(self.split) - 1.0) > 1e-6 or min(self.split) <= 0:
            raise ValueError(f"split must be three positive ratios summing to 1, got {self.split}")
        if not self.rhos:
            raise ValueError("rhos must not be empty")
        if any(r < 0 or r > 5 for r in self.rhos):
            raise ValueError(f"every rho must be in [0, 5], got {self.rhos}")
        for key in ("rhos", "backbones", "methods", "topk"):
            vals = getattr(self, key)
            if len(set(vals)) != len(vals) or not vals:
                raise ValueError(f"{key} must be non-empty and without duplicates, got {vals}")
        if any(k < 1 for k in self.topk):
            raise ValueError(f"topk values must be >= 1, got {self.topk}")
        if self.valid_k not in self.topk:
            raise ValueError(f"valid_k={self.valid_k} must be one of topk={self.topk}")
        if "pld" in self.methods and self.pld_warmup_epochs >= self.epochs:
            raise ValueError(
                f"pld_warmup_epochs={self.pld_warmup_epochs} >= epochs={self.epochs}: PLD would never resample "
                "(that is the 'uniform' method)"
            )
        if any(v <= 0 for v in self.learning_rate_by_backbone.values()):
            raise ValueError(f"learning rates must be > 0, got {self.learning_rate_by_backbone}")
        if self.eval_step > self.epochs:
            raise ValueError(f"eval_step={self.eval_step} > epochs={self.epochs}: the model would never be validated")
        if self.select_from_epoch > self.epochs - self.epochs % self.eval_step:
            raise ValueError(
                f"select_from_epoch={self.select_from_epoch}: no validation (every {self.eval_step} epochs up to "
                f"{self.epochs}) would be eligible for model selection"
            )
        return self

    @property
    def label(self) -> str:
        """Dataset label used in the results table.

        Example:
            >>> RecsysConfig(dataset="lastfm").label
            'lastfm'
        """
        if self.name:
            return self.name
        if self.dataset == "custom" and self.interactions_file is not None:
            return self.interactions_file.stem
        return self.dataset

    def lr(self, backbone: str) -> float:
        """Learning rate of a backbone.

        Example:
            >>> RecsysConfig(learning_rate=0.005, learning_rate_by_backbone={"LightGCN": 0.01}).lr("MF")
            0.005
        """
        return self.learning_rate_by_backbone.get(backbone, self.learning_rate)  # type: ignore[call-overload]

    def seeds(self, base: int) -> list[int]:
        """The seeds of the grid for a base seed.

        Example:
            >>> RecsysConfig(n_seeds=3).seeds(2024)
            [2024, 2025, 2026]
        """
        return [base + i for i in range(self.n_seeds)]

    def systems(self) -> list[tuple[str, str]]:
        """(backbone, method) pairs in grid order.

        Example:
            >>> RecsysConfig(backbones=["MF"], methods=["standard", "tce"]).systems()
            [('MF', 'standard'), ('MF', 'tce')]
        """
        return [(b, m) for b in self.backbones for m in self.methods]


def parse_recsys_config(section: dict, where: str = "recsys") -> RecsysConfig:
    """Validate a ``recsys:`` mapping, turning pydantic errors into :class:`ConfigError`.

    Example:
        >>> parse_recsys_config({"rhos": [0.0]}).rhos
        [0.0]
        >>> parse_recsys_config({"bogus": 1})   # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ConfigError: recsys.bogus: Extra inputs are not permitted
    """
    try:
        return RecsysConfig.model_validate(section or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ()))
        raise ConfigError(err.get("msg", str(exc)), where=f"{where}.{loc}" if loc else where) from exc


def recbole_device(device: str, visible: str | None = None) -> dict[str, Any]:
    """RecBole's device settings for a resolved irrobust ``device`` (``cpu`` or ``cuda:N``, see
    :func:`irrobust.util.compute.resolve_device`): ``use_gpu`` and ``gpu_id`` for RecBole's ``Config``, and ``device``,
    the torch device the model trains on.

    RecBole's ``Config`` writes ``gpu_id`` into ``$CUDA_VISIBLE_DEVICES`` and trains on ``torch.device("cuda")``.
    irrobust resolves the device first, which starts CUDA with the process's own visible devices, so that write
    (restored afterwards by :func:`irrobust.recsys.sandbox.recbole_sandbox`) no longer renumbers them; the model
    then goes to ``cuda:N``, the device the user named. ``gpu_id`` is the physical id of ``cuda:N`` (the N-th entry
    of ``visible``, the current ``$CUDA_VISIBLE_DEVICES``, when that is set), as RecBole reports it. On the CPU
    ``gpu_id`` is empty: RecBole's ``Config`` then asks nothing of CUDA (with its default ``"0"`` it would start CUDA
    with GPU 0 alone visible, for the rest of the process).

    Example:
        >>> recbole_device("cuda:1")
        {'use_gpu': True, 'gpu_id': '1', 'device': 'cuda:1'}
        >>> recbole_device("cuda:1", visible="4,6")["gpu_id"]
        '6'
        >>> recbole_device(resolve_device("auto"))["use_gpu"] == resolve_device("auto").startswith("cuda")
        True
    """
    if not device.startswith("cuda"):
        return {"use_gpu": False, "gpu_id": "", "device": device}
    index = int(device.split(":", 1)[1]) if ":" in device else 0
    ids = [v.strip() for v in visible.split(",") if v.strip()] if visible else []
    if ids and index >= len(ids):
        raise ConfigError(f"device {device!r} requested, but CUDA_VISIBLE_DEVICES={visible!r} lists {len(ids)} "
                          "device(s)", where="recsys.device")  # fmt: skip
    return {"use_gpu": True, "gpu_id": ids[index] if ids else str(index), "device": f"cuda:{index}"}


def prepare_recbole_device(spec: str) -> dict[str, Any]:
    """:func:`recbole_device` for a ``device`` setting (``auto | cpu | cuda[:n]``): resolved (a :class:`ConfigError`
    for CUDA without CUDA), CUDA started with this process's own visible devices before RecBole's ``Config`` rewrites
    ``$CUDA_VISIBLE_DEVICES``, then mapped. Use the result in RecBole's config dict (``use_gpu``, ``gpu_id``) and put
    the model on ``torch.device(result["device"])`` after building the ``Config``.

    Example:
        >>> sorted(prepare_recbole_device("auto"))
        ['device', 'gpu_id', 'use_gpu']
    """
    device = resolve_device(spec, where="recsys.device")
    if device.startswith("cuda"):
        import torch

        torch.cuda.init()  # fixes the device numbering now (CUDA reads $CUDA_VISIBLE_DEVICES once, when it starts)
    return recbole_device(device, os.environ.get("CUDA_VISIBLE_DEVICES"))
