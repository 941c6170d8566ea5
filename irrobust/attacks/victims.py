"""Attack targets for every ranker family: a pipeline stage → ``score(query, texts)``.

* **BM25 / QL** (:class:`~irrobust.rankers.lexical.BM25`, :class:`~irrobust.rankers.lexical.QL`): the
  perturbed text is scored with Lucene's formula and the index's collection statistics
  (:class:`~irrobust.rankers.lucene_scoring.LuceneScorer`), so a clean document scores exactly what Lucene
  gives it (within pyserini's 4-decimal rounding of searcher scores).
* **Dense retrieval** (:class:`~irrobust.rankers.dense.DenseRetriever`): cosine of MiniLM embeddings of the
  query and the (freshly encoded) text, via :class:`~irrobust.rankers.dense.DenseReranker`.
* **Cross-encoder, KNRM** (any :class:`~irrobust.rankers.rerank.ScoringReranker`): its ``scorer`` directly.
* **Other rerankers that read a ``text`` column** (LTR, dense reranking): the stage itself on a one-query
  results table, scores mapped back to input order.

RM3 (query expansion by feedback on the *index*) and fusion systems are not attackable this way.

Example:
    >>> from irrobust.rankers.lexical import BM25                                    # doctest: +SKIP
    >>> target = target_for_stage(BM25(ir.lucene_index("beir/scifact"), k=100))     # doctest: +SKIP
    >>> target.score("vitamin d", ["vitamin d deficiency", "unrelated"])             # doctest: +SKIP
    array([7.1..., 0.])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from irrobust.errors import ModelError


class LexicalTarget:
    """BM25 or QL score of arbitrary texts with the index's statistics (Lucene's formulas, recomputed).

    Example:
        >>> LexicalTarget(ir.lucene_index("beir/scifact"), "bm25").score("q", ["text"])   # doctest: +SKIP
        array([0.])
    """

    def __init__(self, index: Any, model: str = "bm25", **params: float) -> None:
        from irrobust.rankers.lucene_scoring import LuceneScorer, shared_stats

        self.scorer = LuceneScorer(shared_stats(index), model=model, **params)
        self.model, self.params = model, params

    def score(self, query: str, texts: list[str]) -> np.ndarray:
        """Scores (float64) of ``texts`` as if they were indexed documents.

        Example:
            >>> target.score("q", []).shape   # doctest: +SKIP
            (0,)
        """
        return self.scorer.score_texts(query, list(texts)).astype(np.float64)


class ScorerTarget:
    """A ``scorer.score(queries, texts)`` (cross-encoder, KNRM) as a target; sets its thread count.

    Example:
        >>> ScorerTarget(knrm_reranker.scorer, threads=1).score("q", ["d"])   # doctest: +SKIP
    """

    def __init__(self, scorer: Any, threads: int | None = None) -> None:
        self.scorer = scorer
        if threads is not None and hasattr(scorer, "threads"):
            scorer.threads = int(threads)
        if hasattr(scorer, "progress"):
            scorer.progress = False

    def score(self, query: str, texts: list[str]) -> np.ndarray:
        """Scores (float64) of ``texts`` for ``query``.

        Example:
            >>> target.score("q", ["d"]).dtype   # doctest: +SKIP
            dtype('float64')
        """
        if not texts:
            return np.zeros(0, dtype=np.float64)
        return np.asarray(self.scorer.score(query, list(texts)), dtype=np.float64)


class StageTarget:
    """Any reranking stage that scores a ``text`` column (LTR, dense reranking) as a target.

    The texts are passed as one query's results table (docno ``""``, so no stored per-document
    representation is used: clean and perturbed texts are scored the same way).

    Example:
        >>> StageTarget(ltr_stage).score("vitamin d", ["some text"])   # doctest: +SKIP
    """

    def __init__(self, stage: Any) -> None:
        self.stage = stage

    def score(self, query: str, texts: list[str]) -> np.ndarray:
        """Scores (float64) of ``texts`` for ``query``, in input order.

        Example:
            >>> target.score("q", ["a", "b"]).shape   # doctest: +SKIP
            (2,)
        """
        if not texts:
            return np.zeros(0, dtype=np.float64)
        n = len(texts)
        table = pd.DataFrame({"qid": ["attack"] * n, "query": [query] * n, "docno": [""] * n,
                              "score": np.zeros(n), "rank": np.arange(1, n + 1), "text": list(texts),
                              "_pos": np.arange(n)})  # fmt: skip
        out = self.stage.transform(table)
        if "_pos" not in out.columns or len(out) != n:
            raise ModelError(f"{self.stage!r} does not keep the rows of its input; it cannot be attacked")
        scores = np.empty(n, dtype=np.float64)
        scores[out["_pos"].to_numpy(dtype=np.int64)] = out["score"].to_numpy(dtype=np.float64)
        return scores


def target_for_stage(stage: Any, threads: int | None = None) -> Any:
    """The attack target of a pipeline stage (the last stage of a system), per ranker family.

    Raises :class:`ModelError` for stages that cannot score arbitrary texts (RM3, fusion).

    Example:
        >>> target_for_stage(object())  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ModelError: ...
    """
    from irrobust.core.transformer import Transformer
    from irrobust.rankers.dense import DenseReranker, DenseRetriever
    from irrobust.rankers.lexical import BM25, QL, RM3
    from irrobust.rankers.rerank import ScoringReranker

    if isinstance(stage, Transformer):
        stage = stage.final()
    name = type(stage).__name__
    if isinstance(stage, RM3):
        raise ModelError("RM3 expands the query from the index; a perturbed document cannot be scored alone",
                         where=name)  # fmt: skip
    if isinstance(stage, BM25):
        return LexicalTarget(stage.index, "bm25", k1=stage.k1, b=stage.b)
    if isinstance(stage, QL):
        return LexicalTarget(stage.index, "ql", mu=stage.mu)
    if isinstance(stage, DenseRetriever):
        return StageTarget(DenseReranker(index=stage.index))
    if isinstance(stage, ScoringReranker) and stage.scorer is not None:
        return ScorerTarget(stage.scorer, threads=threads)
    if hasattr(stage, "transform") and type(stage).__module__.startswith("irrobust.rankers."):
        return StageTarget(stage)
    raise ModelError(f"no attack target for a {name} stage (fusion and query-side stages cannot be attacked)",
                     where=name)  # fmt: skip


def last_stage(system: Any) -> Any:
    """The last stage of a built system (through :class:`Memo` and :class:`Compose` wrappers).

    Example:
        >>> from irrobust.core.transformer import Identity
        >>> type(last_stage(Identity() >> Identity())).__name__
        'Identity'
    """
    from irrobust.core.transformer import Transformer

    return system.final() if isinstance(system, Transformer) else system
