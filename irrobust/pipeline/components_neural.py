"""Neural pipeline components: dense retrieval / reranking, the cross-encoder and KNRM rerankers.

Learned rankers train on ``train_on`` (default: the evaluation dataset's own training split, or the
source collection's under domain transfer) when no valid model exists and ``fit`` is true; with
``fit: false`` a missing model is a clear :class:`~irrobust.errors.ModelError`.

Bring your own model: ``cross_encoder: {model: ...}`` and ``dense: {model: ...}`` (and ``dense_rerank``) take a
local directory (absolute, or relative to the pipeline file) or a hub id as well as an irrobust model name; the
rule is :func:`irrobust.util.model_ref.parse_model_ref`. An external model is used as it is: the training keys
(``train_on``, ``epochs``, ...) are errors next to it. Every neural stage takes ``device: auto | cpu | cuda[:n]``.

Example:
    >>> from irrobust.pipeline.registry import RANKERS
    >>> sorted(k for k in RANKERS if k in ("dense", "cross_encoder", "knrm"))
    ['cross_encoder', 'dense', 'knrm']
    >>> CrossEncoderParams(model="ce-minilm").model
    'ce-minilm'
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

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
from irrobust.util.compute import Device


def _model_reference(value: str, info: ValidationInfo) -> str:
    """A ``model:`` value: an irrobust model name stays as it is; a directory comes back absolute (relative ones are
    resolved against the pipeline file's folder, ``pipeline_dir`` in the validation context); a hub id as it is."""
    from irrobust.errors import ConfigError
    from irrobust.util.model_ref import parse_model_ref

    base = (info.context or {}).get("pipeline_dir") if info is not None else None
    try:
        return parse_model_ref(value, base_dir=base).value
    except ConfigError as err:
        raise ValueError(err.message) from None


#: an irrobust model name, a model directory or a hub id (see :func:`irrobust.util.model_ref.parse_model_ref`)
ModelReference = Annotated[str, Field(min_length=1, max_length=4096), AfterValidator(_model_reference)]


def is_external(model: str | None) -> bool:
    """True when a validated ``model`` value names a directory or hub id rather than an irrobust model.

    Example:
        >>> is_external("ce-minilm"), is_external("cross-encoder/ms-marco-MiniLM-L6-v2")
        (False, True)
    """
    return model is not None and "/" in model


class DeviceParams(Params):
    """``device``: where the stage's network runs."""

    device: Device = Field("auto", description="auto (CUDA when available), cpu, cuda or cuda:N")


class EncoderParams(DeviceParams):
    """The SentenceTransformer of a dense stage: the bundled all-MiniLM-L6-v2, or any directory / hub id."""

    model: ModelReference | None = Field(
        None, description="a SentenceTransformer directory (absolute or relative to the pipeline file) or hub id "
        "(org/name); default: the bundled all-MiniLM-L6-v2",
    )  # fmt: skip
    query_prompt: str = Field("", max_length=1000, description="text prepended to every query (e.g. 'query: ')")
    document_prompt: str = Field("", max_length=1000, description="text prepended to every document (e.g. "
                                 "'passage: ')")  # fmt: skip
    normalize: bool = Field(True, description="L2-normalise embeddings (cosine); false: raw dot product")
    max_seq_length: int | None = Field(None, ge=8, le=8192, description="truncate inputs at this many tokens "
                                       "(default: the model's setting)")  # fmt: skip

    @field_validator("model")
    @classmethod
    def _external_only(cls, v: str | None) -> str | None:
        if v is not None and not is_external(v):
            raise ValueError(f"{v!r} is a model name, but irrobust trains no dense models: give a SentenceTransformer "
                             "directory or hub id (org/name)")  # fmt: skip
        return v

    def encoder(self) -> Any:
        """The :class:`~irrobust.index.dense.DenseEncoder` these parameters describe."""
        from irrobust.index.dense import DenseEncoder

        return DenseEncoder(self.model, query_prompt=self.query_prompt, document_prompt=self.document_prompt,
                            normalize=self.normalize, max_seq_length=self.max_seq_length, device=self.device)  # fmt: skip


class DenseParams(EncoderParams):
    """Dense retrieval with all-MiniLM-L6-v2 (or any SentenceTransformer) over cached corpus embeddings (FAISS)."""

    k: int = Field(1000, ge=1, le=MAX_K, description=f"documents retrieved per query (at most {MAX_K})")
    method: Literal["flat", "hnsw"] = Field("flat", description="exact inner product, or HNSW")


class DenseRerankParams(EncoderParams):
    """Rerank candidates by the cosine of query and document embeddings: the bundled MiniLM's stored corpus
    embeddings, or any SentenceTransformer encoding the candidates as they come."""


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


#: parameters that only make sense for a model irrobust trains
TRAINING_KEYS = ("train_on", "fit", "epochs", "max_queries", "max_pos_per_query", "n_neg", "seed", "train_split",
                 "dev_fraction")  # fmt: skip


class CrossEncoderParams(DeviceParams, LearnedParams):
    """The MiniLM cross-encoder reranker fine-tuned by irrobust, or any CrossEncoder / sequence-classification
    model given as a directory or hub id."""

    model: ModelReference | None = Field(
        None, description="an irrobust model name under indexes/<collection>/models/ (default: per training "
        "settings), or a CrossEncoder / Hugging Face sequence-classification directory (absolute or relative to the "
        "pipeline file) or hub id (org/name), used as it is",
    )  # fmt: skip
    max_length: int | None = Field(None, ge=16, le=512, description="tokens per (query, document) pair")
    activation: Literal["sigmoid", "none"] = Field(
        "sigmoid", description="sigmoid: scores in (0, 1) (what certification needs); none: raw logits"
    )
    precision: Literal["auto", "fp32", "bf16", "bf16-autocast", "int8", "fast"] = Field(
        "auto", description="auto: exact fp32 on the CPU, bf16/fp16 autocast on CUDA"
    )
    dev_fraction: float | None = Field(
        None, ge=0.0, lt=1.0, description="training queries held out to fit the first-stage interpolation weight"
    )
    interpolate: bool | float = Field(
        False, description="true: interpolate with the first-stage score (weight fitted on the held-out queries); "
        "a number in [0, 1]: that weight; false: the model's score alone",
    )  # fmt: skip

    @field_validator("interpolate")
    @classmethod
    def _weight(cls, v: bool | float) -> bool | float:
        if not isinstance(v, bool) and not 0.0 <= v <= 1.0:
            raise ValueError(f"the interpolation weight must be true, false or a number in [0, 1], got {v}")
        return v

    @model_validator(mode="after")
    def _external_is_used_as_is(self) -> CrossEncoderParams:
        if is_external(self.model):
            training = sorted(k for k in TRAINING_KEYS if k in self.model_fields_set)
            if training:
                raise ValueError(f"{', '.join(training)} apply to models irrobust trains; the external model "
                                 f"{self.model!r} is used as it is (remove them)")  # fmt: skip
            if self.interpolate is True:
                raise ValueError("interpolate: true uses a weight fitted when irrobust trains the model; give the "
                                 "weight (a number in [0, 1]) for an external model")  # fmt: skip
        elif self.activation != "sigmoid":
            raise ValueError("activation applies to external models (irrobust's cross-encoders score with a sigmoid)")
        return self


class KNRMParams(DeviceParams, LearnedParams):
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


@register_ranker("dense", DenseParams, "dense retrieval, all-MiniLM-L6-v2 (or any SentenceTransformer) + FAISS",
                 family="dense")  # fmt: skip
def _dense(ctx: StageContext, p: DenseParams) -> Transformer:
    from irrobust.index.dense import dense_index
    from irrobust.rankers.dense import DenseRetriever

    index = dense_index(ctx.dataset, progress=ctx.progress, method=p.method, encoder=p.encoder())
    return DenseRetriever(index, k=p.k, method=p.method)


@register_ranker("dense_rerank", DenseRerankParams, "rerank by embedding cosine (MiniLM or any SentenceTransformer)",
                 family="dense")  # fmt: skip
def _dense_rerank(ctx: StageContext, p: DenseRerankParams) -> Transformer:
    from irrobust.index.dense import dense_index
    from irrobust.rankers.dense import DenseReranker

    encoder = p.encoder()
    if not encoder.builtin:  # another encoder embeds the candidates as they come (no corpus encoding up front)
        return DenseReranker(docs=ctx.dataset.docs, encoder=encoder)
    return DenseReranker(index=dense_index(ctx.dataset, progress=ctx.progress, encoder=encoder),
                         docs=ctx.dataset.docs)  # fmt: skip


@register_ranker("cross_encoder", CrossEncoderParams, "MiniLM cross-encoder fine-tuned with BM25 negatives, or any "
                 "CrossEncoder directory / hub id", family="cross-encoder")  # fmt: skip
def _cross_encoder(ctx: StageContext, p: CrossEncoderParams) -> Transformer:
    from irrobust.rankers.cross_encoder import CrossEncoderConfig, CrossEncoderReranker, with_overrides

    if is_external(p.model):  # used as it is: the same reranker class, loaded by sentence-transformers
        return CrossEncoderReranker.from_pretrained(p.model, docs=ctx.dataset.docs, precision=p.precision,
                                                    activation=p.activation, interpolate=p.interpolate,
                                                    device=p.device, max_length=p.max_length)  # fmt: skip
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
                                     docs=ctx.dataset.docs, train=p.fit, config=cfg, device=p.device)  # fmt: skip
