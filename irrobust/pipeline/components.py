"""Built-in pipeline components: the lexical rankers, registered by name.

Example:
    >>> sorted(k for k in RANKERS if k in ("bm25", "ql", "rm3"))
    ['bm25', 'ql', 'rm3']
"""

from __future__ import annotations

from pydantic import Field

from irrobust.pipeline.registry import RANKERS, Params, StageContext, register_ranker
from irrobust.rankers.lexical import BM25, QL, RM3


class BM25Params(Params):
    """BM25 parameters (Pyserini's BEIR defaults)."""

    k: int = Field(1000, ge=1, description="number of documents retrieved per query")
    k1: float = Field(0.9, ge=0)
    b: float = Field(0.4, ge=0, le=1)


class QLParams(Params):
    """Query likelihood with Dirichlet smoothing."""

    k: int = Field(1000, ge=1)
    mu: float = Field(1000.0, gt=0)


class RM3Params(BM25Params):
    """BM25 + RM3 feedback parameters (Anserini defaults)."""

    fb_terms: int = Field(10, ge=1)
    fb_docs: int = Field(10, ge=1)
    original_query_weight: float = Field(0.5, ge=0, le=1)


@register_ranker("bm25", BM25Params, "BM25 over the Lucene index (k1=0.9, b=0.4)")
def _bm25(ctx: StageContext, p: BM25Params) -> BM25:
    return BM25(ctx.index, k=p.k, k1=p.k1, b=p.b)


@register_ranker("ql", QLParams, "query likelihood, Dirichlet smoothing (mu=1000)")
def _ql(ctx: StageContext, p: QLParams) -> QL:
    return QL(ctx.index, k=p.k, mu=p.mu)


@register_ranker("rm3", RM3Params, "BM25 + RM3 pseudo-relevance feedback")
def _rm3(ctx: StageContext, p: RM3Params) -> RM3:
    return RM3(ctx.index, k=p.k, k1=p.k1, b=p.b, fb_terms=p.fb_terms, fb_docs=p.fb_docs,
               original_query_weight=p.original_query_weight)  # fmt: skip


import irrobust.pipeline.components_certify  # noqa: E402,F401  (knrm_noisy)
from irrobust.pipeline import components_ltr, components_neural  # noqa: E402,F401  (dense, cross_encoder, knrm, ltr)

__all__ = ["RANKERS"]
