"""Neural pipeline components: dense retrieval / reranking, the cross-encoder and KNRM rerankers.

Learned rankers train on ``train_on`` (default: the evaluation dataset's own training split, or the
source collection's under domain transfer) when no valid model exists and ``fit`` is true; with
``fit: false`` a missing model is a clear :class:`~irrobust.errors.ModelError`.

Example:
    >>> from irrobust.pipeline.registry import RANKERS
    >>> sorted(k for k in RANKERS if k in ("dense", "cross_encoder", "knrm"))
    ['cross_encoder', 'dense', 'knrm']
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from irrobust.pipeline.registry import (
    MAX_K,
    DatasetName,
    ModelName,
    Params,
    Seed,
    StageContext,
    Transformer,
    register_ranker,
)


class DenseParams(Params):
    """Dense retrieval with all-MiniLM-L6-v2 over cached corpus embeddings (FAISS)."""

    k: int = Field(1000, ge=1, le=MAX_K, description=f"documents retrieved per query (at most {MAX_K})")
    method: Literal["flat", "hnsw"] = Field("flat", description="exact inner product, or HNSW")


class DenseRerankParams(Params):
    """Rerank candidates by the cosine of query and document MiniLM embeddings."""


class LearnedParams(Params):
    """Shared parameters of learned rerankers."""

    model: ModelName | None = Field(
        None, description="model name under indexes/<collection>/models/ (default: per ranker and training settings)"
    )
    train_on: DatasetName | None = Field(None, description="training dataset ID (default: the evaluation collection's "
                                         "train)")  # fmt: skip
    fit: bool = Field(True, description="train when no valid model exists (false: a missing model is an error)")
    epochs: int | None = Field(None, ge=1, le=100)
    max_queries: int | None = Field(None, ge=1, description="train on at most this many queries (quick runs)")
    max_pos_per_query: int | None = Field(
        None, ge=1, description="train on at most this many positives per query (densely judged collections)"
    )
    n_neg: int | None = Field(None, ge=1, le=1000, description="BM25 hard negatives per positive")
    seed: Seed | None = Field(None, description="training seed (default: the pipeline seed)")
    train_split: Literal["all", "document_disjoint"] = Field(
        "all", description="document_disjoint: drop training queries whose relevant documents are relevant for the "
        "evaluation queries (measures memorisation; see docs/robustness.md)",
    )  # fmt: skip


class CrossEncoderParams(LearnedParams):
    """The MiniLM cross-encoder reranker fine-tuned by irrobust."""

    max_length: int | None = Field(None, ge=16, le=512)
    precision: Literal["auto", "fp32", "bf16", "bf16-autocast", "int8", "fast"] = Field(
        "auto", description="auto: exact fp32 on the CPU, bf16/fp16 autocast on CUDA"
    )
    device: str = Field("auto", description="auto (CUDA when available), cpu, cuda or cuda:N")
    dev_fraction: float | None = Field(
        None, ge=0.0, lt=1.0, description="training queries held out to fit the first-stage interpolation weight"
    )
    interpolate: bool | float = Field(
        False, description="true: interpolate with the first-stage score (weight fitted on the held-out queries); "
        "a number in [0, 1]: that weight; false: the model's score alone",
    )  # fmt: skip

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        from irrobust.errors import ConfigError
        from irrobust.util.compute import resolve_device

        try:
            resolve_device(v)  # an unknown spelling, or CUDA on a machine without it, fails at validation
        except ConfigError as err:
            raise ValueError(err.message) from None
        return v

    @field_validator("interpolate")
    @classmethod
    def _weight(cls, v: bool | float) -> bool | float:
        if not isinstance(v, bool) and not 0.0 <= v <= 1.0:
            raise ValueError(f"the interpolation weight must be true, false or a number in [0, 1], got {v}")
        return v


class KNRMParams(LearnedParams):
    """KNRM (Xiong et al., SIGIR 2017) over MiniLM word-piece embeddings."""

    embeddings: Literal["projection", "frozen", "finetune"] | None = None


def _overrides(p: LearnedParams, ctx: StageContext, extra: tuple[str, ...] = ()) -> dict:
    out = {"seed": p.seed if p.seed is not None else ctx.seed}
    if p.train_split == "document_disjoint":
        out["disjoint_from"] = ctx.dataset.id
    for key in ("epochs", "max_queries", "max_pos_per_query", *extra):
        if getattr(p, key, None) is not None:
            out[key] = getattr(p, key)
    return out


@register_ranker("dense", DenseParams, "dense retrieval, all-MiniLM-L6-v2 + FAISS", family="dense")
def _dense(ctx: StageContext, p: DenseParams) -> Transformer:
    from irrobust.index.dense import dense_index
    from irrobust.rankers.dense import DenseRetriever

    return DenseRetriever(dense_index(ctx.dataset, progress=ctx.progress, method=p.method), k=p.k, method=p.method)


@register_ranker("dense_rerank", DenseRerankParams, "rerank by MiniLM cosine", family="dense")
def _dense_rerank(ctx: StageContext, p: DenseRerankParams) -> Transformer:
    from irrobust.index.dense import dense_index
    from irrobust.rankers.dense import DenseReranker

    return DenseReranker(index=dense_index(ctx.dataset, progress=ctx.progress), docs=ctx.dataset.docs)


@register_ranker("cross_encoder", CrossEncoderParams, "MiniLM cross-encoder fine-tuned with BM25 negatives",
                 family="cross-encoder")  # fmt: skip
def _cross_encoder(ctx: StageContext, p: CrossEncoderParams) -> Transformer:
    from irrobust.rankers.cross_encoder import CrossEncoderConfig, CrossEncoderReranker, with_overrides

    cfg = with_overrides(CrossEncoderConfig(), **_overrides(p, ctx, ("max_length", "dev_fraction")))
    if p.n_neg is not None:
        cfg = with_overrides(cfg, negatives={"n_neg": p.n_neg})
    return CrossEncoderReranker.from_dataset(p.train_on or ctx.default_train(), name=p.model,
                                             docs=ctx.dataset.docs, train=p.fit, config=cfg, precision=p.precision,
                                             interpolate=p.interpolate, device=p.device)  # fmt: skip


@register_ranker("knrm", KNRMParams, "KNRM kernel-pooling interaction model", family="interaction")
def _knrm(ctx: StageContext, p: KNRMParams) -> Transformer:
    from irrobust.rankers.cross_encoder import with_overrides
    from irrobust.rankers.knrm import KNRMConfig, KNRMReranker

    cfg = with_overrides(KNRMConfig(), **_overrides(p, ctx, ("embeddings",)))
    if p.n_neg is not None:
        cfg = with_overrides(cfg, negatives={"n_neg": p.n_neg})
    return KNRMReranker.from_dataset(p.train_on or ctx.default_train(), name=p.model,
                                     docs=ctx.dataset.docs, train=p.fit, config=cfg)  # fmt: skip
