"""Learning-to-rank pipeline component: ``ltr``, a LambdaMART (LightGBM) reranker of BM25 candidates.

The stage reranks a results table, so it follows a first stage, typically BM25 with the same ``k``
the model was trained with (``device: auto | cpu | cuda[:n]`` places the MiniLM of its ``dense`` feature)::

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

from dataclasses import fields
from typing import Literal

from pydantic import Field

from irrobust.pipeline.registry import DatasetName, ModelName, Params, Seed, StageContext, Transformer, register_ranker
from irrobust.rankers.ltr import FEATURES, LTRConfig
from irrobust.util.compute import Device

#: one LTR feature name (the names are :data:`irrobust.rankers.ltr.FEATURES`)
Feature = Literal[FEATURES]  # type: ignore[valid-type]
#: the training settings' defaults: one home, :class:`irrobust.rankers.ltr.LTRConfig`
_DEFAULT = {f.name: f.default for f in fields(LTRConfig)}
#: the LTRConfig fields a pipeline sets under the same name
CONFIG_KEYS = ("features", "k", "n_estimators", "learning_rate", "num_leaves", "min_child_samples",
               "early_stopping_rounds", "valid_fraction", "max_queries")  # fmt: skip


class LTRParams(Params):
    """LambdaMART reranker parameters (LightGBM lambdarank over BM25 top-k candidates)."""

    model: ModelName | None = Field(None, description="model name under indexes/<collection>/models/ (default: "
                                    "ltr-<hash>)")  # fmt: skip
    train_on: DatasetName | None = Field(None, description="training dataset ID (default: the evaluation collection's "
                                         "train)")  # fmt: skip
    fit: bool = Field(True, description="train when no valid model exists (false: a missing model is an error)")
    k: int = Field(_DEFAULT["k"], ge=1, le=1000, description="BM25 candidates per training query, in [1, 1000]")
    features: list[Feature] = Field(list(_DEFAULT["features"]), min_length=1, max_length=len(FEATURES),
                                    description="features, in model input order")  # fmt: skip
    seed: Seed | None = Field(None, description="training seed (default: the pipeline seed)")
    n_estimators: int = Field(_DEFAULT["n_estimators"], ge=1, le=10_000,
                              description="maximum number of trees (early stopping picks fewer)")  # fmt: skip
    learning_rate: float = Field(_DEFAULT["learning_rate"], gt=0, le=1)
    num_leaves: int = Field(_DEFAULT["num_leaves"], ge=2, le=131_072,
                            description="leaves per tree, in [2, 131072] (LightGBM's range)")  # fmt: skip
    min_child_samples: int = Field(_DEFAULT["min_child_samples"], ge=1, le=1_000_000)
    early_stopping_rounds: int = Field(_DEFAULT["early_stopping_rounds"], ge=1, le=10_000)
    valid_fraction: float = Field(_DEFAULT["valid_fraction"], gt=0, lt=1,
                                  description="share of training queries held out for early stopping")  # fmt: skip
    max_queries: int | None = Field(_DEFAULT["max_queries"], ge=2,
                                    description="train on at most this many queries (quick runs)")  # fmt: skip
    train_split: Literal["all", "document_disjoint"] = Field(
        "all", description="document_disjoint: drop training queries whose relevant documents are relevant for the "
        "evaluation queries (measures memorisation; see docs/robustness.md)",
    )  # fmt: skip
    device: Device = Field("auto", description="where the dense feature's MiniLM runs: auto (CUDA when available), "
                           "cpu, cuda or cuda:N")  # fmt: skip


@register_ranker("ltr", LTRParams, "LambdaMART (LightGBM) over lexical + MiniLM features of BM25 candidates",
                 family="ltr")  # fmt: skip
def _ltr(ctx: StageContext, p: LTRParams) -> Transformer:
    from irrobust.rankers.ltr import LTRReranker, train_ltr

    model = train_ltr(
        p.train_on or ctx.default_train(),
        name=p.model,
        fit=p.fit,
        progress=ctx.progress,
        seed=p.seed if p.seed is not None else ctx.seed,
        disjoint_from=ctx.dataset.id if p.train_split == "document_disjoint" else None,
        device=p.device,
        **{key: getattr(p, key) for key in CONFIG_KEYS},
    )
    return LTRReranker(model, index=ctx.index, device=p.device)


__all__ = ["LTRParams"]
