"""Built-in pipeline components: the lexical rankers, registered by name.

Example:
    >>> sorted(k for k in RANKERS if k in ("bm25", "ql", "rm3"))
    ['bm25', 'ql', 'rm3']
"""

from __future__ import annotations

from pydantic import Field

from irrobust.pipeline.registry import MAX_K, RANKERS, Params, StageContext, register_ranker
from irrobust.rankers.lexical import BM25, QL, RM3

#: largest BM25 k1 (typical values are 0.5-2; Lucene keeps k1 as a 32-bit float)
MAX_K1 = 100.0
#: largest Dirichlet mu of query likelihood (typical values are 100-5000)
MAX_MU = 1_000_000.0


class BM25Params(Params):
    """BM25 parameters (Pyserini's BEIR defaults); Lucene takes finite k1 >= 0 and b in [0, 1]."""

    k: int = Field(1000, ge=1, le=MAX_K, description=f"number of documents retrieved per query (at most {MAX_K})")
    k1: float = Field(0.9, ge=0, le=MAX_K1, description=f"term-frequency saturation, in [0, {MAX_K1:g}]")
    b: float = Field(0.4, ge=0, le=1, description="length normalisation, in [0, 1]")


class QLParams(Params):
    """Query likelihood with Dirichlet smoothing."""

    k: int = Field(1000, ge=1, le=MAX_K, description=f"number of documents retrieved per query (at most {MAX_K})")
    mu: float = Field(1000.0, gt=0, le=MAX_MU, description=f"Dirichlet prior, in (0, {MAX_MU:g}]")


class RM3Params(BM25Params):
    """BM25 + RM3 feedback parameters (Anserini defaults)."""

    fb_terms: int = Field(10, ge=1, le=1000, description="expansion terms, in [1, 1000]")
    fb_docs: int = Field(10, ge=1, le=1000, description="feedback documents, in [1, 1000]")
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


__all__ = ["RANKERS"]
