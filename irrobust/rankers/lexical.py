"""Lexical retrievers over a Lucene index (pyserini 0.25): BM25, query likelihood, BM25 + RM3.

* :class:`BM25` — Robertson & Zaragoza's BM25 as implemented by Lucene; defaults k1=0.9, b=0.4
  are Pyserini's BEIR settings (the "flat" regressions).
* :class:`QL` — query likelihood with Dirichlet smoothing (Zhai & Lafferty, SIGIR 2001), μ=1000.
* :class:`RM3` — BM25 followed by RM3 pseudo-relevance feedback (Abdul-Jaleel et al., TREC 2004;
  Anserini's implementation), fb_terms=10, fb_docs=10, original query weight 0.5.

Each is a retrieval stage: queries (``qid, query``) in, results (``qid, query, docno, score, rank``)
out. BM25 and QL search Lucene directly (:class:`irrobust.index.lucene_direct.DirectSearcher`: pyserini's
rankings and scores without loading each hit's stored document, ≥ 10× faster at k = 1000, see
``scripts/bench/bench_bm25.py``); RM3 and ``direct=False`` use pyserini's ``batch_search`` on two threads.

Example:
    >>> from irrobust.index import lucene_index
    >>> bm25 = BM25(lucene_index("beir/scifact"), k=100)     # doctest: +SKIP
    >>> bm25(["vitamin d and depression"]).head(1).docno     # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from irrobust.core.scoring import ScoringCapabilities, ScoringStage
from irrobust.core.transformer import Transformer, add_ranks, check_columns
from irrobust.errors import IrrobustError
from irrobust.index.lucene import LuceneIndex


def _check_queries(queries: pd.DataFrame, stage: str) -> None:
    check_columns(queries, ("qid", "query"), stage)
    texts = queries["query"].astype(str).str.strip()
    empty = queries.loc[texts.str.len() == 0, "qid"].tolist()
    if empty:
        raise IrrobustError(f"empty query text for qid(s) {empty[:5]}", where=stage)
    dup = queries["qid"][queries["qid"].duplicated()].tolist()
    if dup:
        raise IrrobustError(f"duplicate qid(s) {dup[:5]} in one batch of queries", where=stage)


class LuceneRetriever(ScoringStage, Transformer):
    """Base class: retrieve the top ``k`` documents per query from a Lucene index.

    Subclasses set the scoring model in :meth:`configure`. As a ranker (:mod:`irrobust.core.scoring`), BM25 and
    QL score any text with Lucene's formulas and the index's statistics
    (:class:`~irrobust.rankers.lucene_scoring.LuceneScorer`): a clean document scores exactly what Lucene gives it
    (within pyserini's 4-decimal rounding of searcher scores), and copies of a document are scored from token
    tables (the fast smoothed path).

    Example:
        >>> issubclass(BM25, LuceneRetriever)
        True
    """

    #: queries per ``batch_search`` call (progress is shown per batch)
    chunk = 100
    #: show a progress bar when there is more than one batch
    progress = True

    #: the :class:`DirectSearcher` model name, or None where only pyserini can search (RM3)
    direct_model: str | None = None

    def __init__(self, index: LuceneIndex, k: int = 1000, threads: int | None = None, direct: bool = True) -> None:
        if int(k) != k or k < 1:
            raise IrrobustError(f"k must be a positive integer, got {k!r}", where=type(self).__name__)
        self.index, self.k = index, int(k)
        self.threads = threads or min(2, os.cpu_count() or 1)
        self.direct = bool(direct) and self.direct_model is not None
        self._searcher = None
        self._direct = None
        self._lucene_scorer = None

    def configure(self, searcher) -> None:
        """Set the scoring model on a fresh searcher."""
        raise NotImplementedError

    @property
    def searcher(self):
        """This stage's own pyserini searcher (created and configured on first use)."""
        if self._searcher is None:
            searcher = self.index.searcher()
            self.configure(searcher)
            self._searcher = searcher
        return self._searcher

    def params(self) -> dict[str, Any]:
        """The scoring parameters (for specs and reports)."""
        return {}

    @property
    def capabilities(self) -> ScoringCapabilities:  # type: ignore[override]
        """Scores texts with Lucene's formulas (BM25, QL) and has the fast smoothed path; unbounded scores."""
        return ScoringCapabilities(fast_smoothing=True, kind=self.direct_model or type(self).__name__)

    @property
    def lucene_scorer(self) -> Any:
        """This stage's :class:`~irrobust.rankers.lucene_scoring.LuceneScorer` (its model and parameters, the
        index's statistics shared per process).

        Example:
            >>> BM25(lucene_index("cranfield"), k=5).lucene_scorer.defaults["k1"]   # doctest: +SKIP
            0.9
        """
        if self._lucene_scorer is None:
            from irrobust.rankers.lucene_scoring import LuceneScorer, shared_stats

            self._lucene_scorer = LuceneScorer(shared_stats(self.index), model=self.direct_model, **self.params())
        return self._lucene_scorer

    def score_texts(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Lucene's score (float32) of each text as if it were an indexed document (the index's statistics).

        Example:
            >>> BM25(lucene_index("cranfield")).score_texts("boundary layer", ["the boundary layer", "x"])  # doctest: +SKIP
            array([4.1..., 0.], dtype=float32)
        """
        return self.lucene_scorer.score_texts(query, list(texts))

    def score_token_samples(
        self, query: str, strings: Sequence[str], samples: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        """Lucene's scores (float64) of token-id copies (see
        :meth:`~irrobust.rankers.lucene_scoring.LuceneScorer.score_token_samples`).

        Example:
            >>> BM25(lucene_index("cranfield")).score_token_samples("layer", ["layer"], [np.zeros((1, 1), int)])  # doctest: +SKIP
        """
        return self.lucene_scorer.score_token_samples(query, strings, samples)

    def search_direct(self, query: str, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The top ``k`` (default: this stage's k) docnos and scores of one query, searched directly.

        Example:
            >>> BM25(lucene_index("cranfield"), k=5).search_direct("boundary layer")   # doctest: +SKIP
        """
        if self._direct is None:
            from irrobust.index.lucene_direct import DirectSearcher

            self._direct = DirectSearcher(self.index, self.direct_model, **self.params())
        return self._direct.search(query, self.k if k is None else int(k))

    def transform(self, queries: pd.DataFrame) -> pd.DataFrame:
        _check_queries(queries, repr(self))
        qids = queries["qid"].astype(str).tolist()
        texts = queries["query"].astype(str).tolist()
        if self.direct:
            return self._transform_direct(qids, texts)
        hits: dict = {}
        chunks = range(0, len(qids), self.chunk)
        show = self.progress and len(chunks) > 1
        for start in tqdm(chunks, desc=repr(self), unit="batch", disable=not show, leave=False):
            end = start + self.chunk
            hits.update(self.searcher.batch_search(texts[start:end], qids[start:end], k=self.k, threads=self.threads))
        return hits_to_frame(hits, qids, texts)

    def _transform_direct(self, qids: list[str], texts: list[str]) -> pd.DataFrame:
        show = self.progress and len(qids) > self.chunk
        qcol, tcol, dcol, scol = [], [], [], []
        for qid, text in tqdm(zip(qids, texts, strict=True), total=len(qids), desc=repr(self), unit="query",
                              disable=not show, leave=False):  # fmt: skip
            docnos, scores = self.search_direct(text)
            if len(docnos) == 0:
                continue
            qcol.append(np.full(len(docnos), qid, dtype=object))
            tcol.append(np.full(len(docnos), text, dtype=object))
            dcol.append(docnos)
            scol.append(scores)
        if not qcol:
            return hits_to_frame({}, qids, texts)
        frame = pd.DataFrame({"qid": np.concatenate(qcol), "query": np.concatenate(tcol),
                              "docno": np.concatenate(dcol), "score": np.concatenate(scol)})  # fmt: skip
        return add_ranks(frame)

    def spec(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "index": self.index.collection,
            "docs_checksum": self.index.manifest.get("docs_checksum"),
            "k": self.k,
            **self.params(),
        }

    def __repr__(self) -> str:
        return self.name or type(self).__name__


def hits_to_frame(hits: dict, qids: list[str], texts: list[str]) -> pd.DataFrame:
    """Turn pyserini's ``batch_search`` output into a ranked results table.

    Example:
        >>> hits_to_frame({}, ["1"], ["q"]).columns.tolist()
        ['qid', 'query', 'docno', 'score', 'rank']
    """
    qcol, tcol, dcol, scol = [], [], [], []
    for qid, text in zip(qids, texts, strict=True):
        docs = hits.get(qid, ())
        n = len(docs)
        if n == 0:
            continue
        qcol.append(np.full(n, qid, dtype=object))
        tcol.append(np.full(n, text, dtype=object))
        dcol.append([h.docid for h in docs])
        scol.append([h.score for h in docs])
    if not qcol:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=t)
                for c, t in [("qid", object), ("query", object), ("docno", object), ("score", float), ("rank", "int64")]
            }
        )
    frame = pd.DataFrame({
        "qid": np.concatenate(qcol),
        "query": np.concatenate(tcol),
        "docno": np.concatenate([np.asarray(d, dtype=object) for d in dcol]),
        "score": np.concatenate([np.asarray(s, dtype=np.float64) for s in scol]),
    })  # fmt: skip
    return add_ranks(frame)


class BM25(LuceneRetriever):
    """BM25 retrieval (Lucene), k1=0.9, b=0.4 by default (Pyserini's BEIR flat settings).

    Example:
        >>> BM25.__init__.__defaults__[:3]
        (1000, 0.9, 0.4)
    """

    direct_model = "bm25"

    def __init__(self, index: LuceneIndex, k: int = 1000, k1: float = 0.9, b: float = 0.4,
                 threads: int | None = None, direct: bool = True) -> None:  # fmt: skip
        super().__init__(index, k, threads, direct)
        if k1 < 0 or not 0 <= b <= 1:
            raise IrrobustError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}", where="BM25")
        self.k1, self.b = float(k1), float(b)

    def configure(self, searcher) -> None:
        searcher.set_bm25(self.k1, self.b)

    def params(self) -> dict[str, Any]:
        return {"k1": self.k1, "b": self.b}


class QL(LuceneRetriever):
    """Query likelihood with Dirichlet smoothing (Lucene's LMDirichletSimilarity), μ=1000 by default.

    Example:
        >>> QL.__init__.__defaults__[:2]
        (1000, 1000.0)
    """

    direct_model = "ql"

    def __init__(self, index: LuceneIndex, k: int = 1000, mu: float = 1000.0, threads: int | None = None,
                 direct: bool = True) -> None:  # fmt: skip
        super().__init__(index, k, threads, direct)
        if mu <= 0:
            raise IrrobustError(f"QL needs mu > 0, got {mu}", where="QL")
        self.mu = float(mu)

    def configure(self, searcher) -> None:
        searcher.set_qld(self.mu)

    def params(self) -> dict[str, Any]:
        return {"mu": self.mu}


class RM3(BM25):
    """BM25 with RM3 query expansion (Anserini's RM3): fb_terms=10, fb_docs=10, original weight 0.5.

    Example:
        >>> RM3.__init__.__defaults__[:6]
        (1000, 0.9, 0.4, 10, 10, 0.5)
    """

    direct_model = None  # searched through pyserini: the feedback step reads the top documents
    capabilities = ScoringCapabilities(  # type: ignore[assignment]
        scores_texts=False,
        kind="rm3",
        reason="RM3 expands the query from the index; a perturbed document cannot be scored alone",
    )

    def __init__(self, index: LuceneIndex, k: int = 1000, k1: float = 0.9, b: float = 0.4, fb_terms: int = 10,
                 fb_docs: int = 10, original_query_weight: float = 0.5, threads: int | None = None) -> None:  # fmt: skip
        super().__init__(index, k, k1, b, threads, direct=False)
        if fb_terms < 1 or fb_docs < 1 or not 0 <= original_query_weight <= 1:
            raise IrrobustError(
                "RM3 needs fb_terms >= 1, fb_docs >= 1 and 0 <= original_query_weight <= 1", where="RM3"
            )
        self.fb_terms, self.fb_docs, self.original_query_weight = (
            int(fb_terms),
            int(fb_docs),
            float(original_query_weight),
        )

    def configure(self, searcher) -> None:
        super().configure(searcher)
        searcher.set_rm3(self.fb_terms, self.fb_docs, self.original_query_weight)

    def params(self) -> dict[str, Any]:
        return {**super().params(), "fb_terms": self.fb_terms, "fb_docs": self.fb_docs,
                "original_query_weight": self.original_query_weight}  # fmt: skip
