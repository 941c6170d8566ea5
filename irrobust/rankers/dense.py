"""Dense retrieval and dense reranking stages with all-MiniLM-L6-v2 (see :mod:`irrobust.index.dense`).

* :class:`DenseRetriever` — queries in, top-``k`` results out by cosine similarity (FAISS exact
  inner product by default, HNSW optional).
* :class:`DenseReranker` — rescore a results table by the cosine of query and candidate embeddings.
  With a ``text`` column it encodes those texts (attacks pass perturbed documents this way);
  otherwise it uses the stored corpus embeddings (or encodes texts from a document store).

Example:
    >>> import irrobust as ir
    >>> ds = ir.dataset("beir/scifact/test")                                   # doctest: +SKIP
    >>> dense = DenseRetriever(dense_index(ds), k=100)                         # doctest: +SKIP
    >>> ir.evaluate(dense(ds.queries), ds.qrels, ["nDCG@10"])                  # doctest: +SKIP
    {'nDCG@10': 0.64...}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from irrobust.core.scoring import ScoringCapabilities, ScoringStage, score_by_transform
from irrobust.core.transformer import Transformer, add_ranks, check_columns
from irrobust.errors import ModelError
from irrobust.index.dense import DenseEncoder, DenseIndex, dense_index
from irrobust.rankers.rerank import as_docstore

__all__ = ["DenseRetriever", "DenseReranker", "dense_index"]


def _check_queries(queries: pd.DataFrame, stage: str) -> None:
    check_columns(queries, ("qid", "query"), stage)
    if (queries["query"].astype(str).str.strip().str.len() == 0).any():
        raise ModelError("empty query text", where=stage)


class DenseRetriever(ScoringStage, Transformer):
    """Retrieve the top ``k`` documents per query by cosine similarity of all-MiniLM-L6-v2 embeddings.

    Args:
        index: a :class:`DenseIndex`, or a collection / dataset ID (built on demand).
        k: documents per query.
        method: ``"flat"`` (exact, default) or ``"hnsw"`` when ``index`` is given as an ID.
        encoder: when ``index`` is an ID, the :class:`~irrobust.index.dense.DenseEncoder` to index with (default:
            the bundled MiniLM; any SentenceTransformer directory or hub id, see :mod:`irrobust.util.model_ref`).

    Example:
        >>> DenseRetriever("beir/scifact", k=10)(["vitamin d"]).shape[0]   # doctest: +SKIP
        10
        >>> mine = DenseRetriever("beir/scifact", encoder=DenseEncoder("/models/my-st"))   # doctest: +SKIP
    """

    def __init__(self, index: DenseIndex | str | Any, k: int = 1000, method: str = "flat",
                 encoder: DenseEncoder | None = None) -> None:  # fmt: skip
        if int(k) != k or k < 1:
            raise ModelError(f"k must be a positive integer, got {k!r}", where="DenseRetriever")
        if isinstance(index, DenseIndex):
            self.index = index
        else:
            self.index = dense_index(index, method=method, encoder=encoder)
        self.k = int(k)
        self.name = f"Dense({self.index.encoder.label})"

    def transform(self, queries: pd.DataFrame) -> pd.DataFrame:
        _check_queries(queries, repr(self))
        qids = queries["qid"].astype(str).tolist()
        texts = queries["query"].astype(str).tolist()
        scores, docnos = self.index.search(self.index.encode_queries(texts), self.k)
        rows_q, rows_t, rows_d, rows_s = [], [], [], []
        for qid, text, s, d in zip(qids, texts, scores, docnos, strict=True):
            rows_q += [qid] * len(d)
            rows_t += [text] * len(d)
            rows_d += d
            rows_s += s[: len(d)].astype(np.float64).tolist()
        out = pd.DataFrame({"qid": rows_q, "query": rows_t, "docno": rows_d, "score": rows_s})
        return add_ranks(out)

    capabilities = ScoringCapabilities(kind="DenseRetriever")

    def score_texts(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Cosine (float64) of the query's and each (freshly encoded) text's embeddings, as :class:`DenseReranker`.

        Example:
            >>> DenseRetriever("beir/scifact", k=10).score_texts("vitamin d", ["vitamin d deficiency"])   # doctest: +SKIP
        """
        return DenseReranker(index=self.index).score_texts(query, texts)

    def spec(self) -> dict[str, Any]:
        return {
            "type": "DenseRetriever",
            "collection": self.index.collection,
            "k": self.k,
            "method": self.index.method,
            "model_sha256": self.index.manifest.get("model_sha256"),
            "docs_checksum": self.index.manifest.get("docs_checksum"),
            **({} if self.index.encoder.builtin else {"encoder": self.index.encoder.spec()}),
        }


class DenseReranker(ScoringStage, Transformer):
    """Rescore results by cosine(query, candidate) with all-MiniLM-L6-v2.

    Texts come from the ``text`` column if present (and are encoded), else from ``index`` (stored
    embeddings), else from ``docs`` (encoded on the fly). The encoder is the index's, else ``encoder`` (default:
    the bundled MiniLM).

    Example:
        >>> rr = DenseReranker(index=dense_index("beir/scifact"))          # doctest: +SKIP
        >>> (bm25 % 100 >> rr)(ds.queries)                                   # doctest: +SKIP
    """

    def __init__(self, index: DenseIndex | None = None, docs: Any = None, batch_size: int = 32,
                 encoder: DenseEncoder | None = None) -> None:  # fmt: skip
        self.index, self.docs, self.batch_size = index, as_docstore(docs), int(batch_size)
        self.encoder = index.encoder if index is not None else (encoder or DenseEncoder())
        self.name = f"DenseRerank({self.encoder.label})"

    def transform(self, table: pd.DataFrame) -> pd.DataFrame:
        check_columns(table, ("qid", "query", "docno"), repr(self))
        if table.empty:
            return add_ranks(table.assign(score=pd.Series(dtype=float)))
        queries = table["query"].astype(str)
        uniq = list(dict.fromkeys(queries))
        qemb = self.encoder.encode_queries(uniq, batch_size=64)
        qrow = {q: i for i, q in enumerate(uniq)}
        if "text" in table.columns:
            demb = self.encoder.encode_docs(table["text"].astype(str).tolist(), batch_size=self.batch_size)
        elif self.index is not None:
            demb = self.index.vectors(table["docno"].astype(str).tolist())
        elif self.docs is not None:
            demb = self.encoder.encode_docs(self.docs.texts(table["docno"].astype(str).tolist()),
                                            batch_size=self.batch_size)  # fmt: skip
        else:
            raise ModelError(
                "the results have no 'text' column and neither a dense index nor a document store was given",
                where=repr(self),
            )
        q = qemb[[qrow[x] for x in queries]]
        scores = np.einsum("ij,ij->i", q.astype(np.float64), demb.astype(np.float64))
        return add_ranks(table.assign(score=scores))

    capabilities = ScoringCapabilities(kind="DenseReranker")

    def score_texts(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Cosine (float64) of the query's and each (freshly encoded) text's embeddings, in input order.

        Example:
            >>> DenseReranker().score_texts("vitamin d", ["vitamin d deficiency", "unrelated"])   # doctest: +SKIP
        """
        return score_by_transform(self, query, texts)

    def spec(self) -> dict[str, Any]:
        if self.encoder.builtin:
            return {"type": "DenseReranker", "model": "all-MiniLM-L6-v2"}
        return {"type": "DenseReranker", **self.encoder.spec()}
