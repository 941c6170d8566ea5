"""Learning-to-rank pipeline component: ``ltr``, a LambdaMART (LightGBM) reranker of BM25 candidates.

The stage reranks a results table, so it follows a first stage, typically BM25 with the same ``k``
the model was trained with::

    stages: [{ranker: bm25, params: {k: 100}}, {ranker: ltr, params: {n_estimators: 500}}]

The model trains on ``train_on`` (default: the evaluation dataset's collection's train split, or the
source collection's under domain transfer) when no valid model with the same configuration exists and
``fit`` is true; with ``fit: false`` a missing model is a clear :class:`~irrobust.errors.ModelError`.
See :mod:`irrobust.rankers.ltr` for the features and the training recipe.

Example:
    >>> from irrobust.pipeline.registry import RANKERS
    >>> RANKERS["ltr"].family
    'ltr'
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from irrobust.pipeline.registry import DatasetName, ModelName, Params, Seed, StageContext, Transformer, register_ranker

Feature = Literal["bm25", "ql", "rm3", "tfidf", "doc_len", "query_len", "coverage", "idf_sum", "idf_max", "dense"]
_ALL: tuple[Feature, ...] = ("bm25", "ql", "rm3", "tfidf", "doc_len", "query_len", "coverage", "idf_sum", "idf_max",
                             "dense")  # fmt: skip


class LTRParams(Params):
    """LambdaMART reranker parameters (LightGBM lambdarank over BM25 top-k candidates)."""

    model: ModelName | None = Field(None, description="model name under indexes/<collection>/models/ (default: "
                                    "ltr-<hash>)")  # fmt: skip
    train_on: DatasetName | None = Field(None, description="training dataset ID (default: the evaluation collection's "
                                         "train)")  # fmt: skip
    fit: bool = Field(True, description="train when no valid model exists (false: a missing model is an error)")
    k: int = Field(100, ge=1, le=1000, description="BM25 candidates per training query, in [1, 1000]")
    features: list[Feature] = Field(list(_ALL), min_length=1, max_length=len(_ALL),
                                    description="features, in model input order")  # fmt: skip
    seed: Seed | None = Field(None, description="training seed (default: the pipeline seed)")
    n_estimators: int = Field(500, ge=1, le=10_000, description="maximum number of trees (early stopping picks fewer)")
    learning_rate: float = Field(0.05, gt=0, le=1)
    num_leaves: int = Field(15, ge=2, le=131_072, description="leaves per tree, in [2, 131072] (LightGBM's range)")
    min_child_samples: int = Field(50, ge=1, le=1_000_000)
    early_stopping_rounds: int = Field(50, ge=1, le=10_000)
    valid_fraction: float = Field(0.2, gt=0, lt=1, description="share of training queries held out for early stopping")
    max_queries: int | None = Field(None, ge=2, description="train on at most this many queries (quick runs)")
    train_split: Literal["all", "document_disjoint"] = Field(
        "all", description="document_disjoint: drop training queries whose relevant documents are relevant for the "
        "evaluation queries (measures memorisation; see docs/robustness.md)",
    )  # fmt: skip


@register_ranker("ltr", LTRParams, "LambdaMART (LightGBM) over lexical + MiniLM features of BM25 candidates",
                 family="ltr")  # fmt: skip
def _ltr(ctx: StageContext, p: LTRParams) -> Transformer:
    from irrobust.rankers.ltr import LTRReranker, train_ltr

    model = train_ltr(
        p.train_on or ctx.default_train(),
        name=p.model,
        fit=p.fit,
        progress=ctx.progress,
        features=tuple(p.features),
        k=p.k,
        seed=p.seed if p.seed is not None else ctx.seed,
        n_estimators=p.n_estimators,
        learning_rate=p.learning_rate,
        num_leaves=p.num_leaves,
        min_child_samples=p.min_child_samples,
        early_stopping_rounds=p.early_stopping_rounds,
        valid_fraction=p.valid_fraction,
        max_queries=p.max_queries,
        disjoint_from=ctx.dataset.id if p.train_split == "document_disjoint" else None,
    )
    return LTRReranker(model, index=ctx.index)


__all__ = ["LTRParams"]
