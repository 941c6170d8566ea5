"""Shared machinery of reranking stages: which text to score, and the rescore-and-rerank step.

A reranker scores the ``text`` column when the results table has one (attacks and certification pass
perturbed documents this way), otherwise it looks the texts up in a document store.

Example:
    >>> import pandas as pd
    >>> rerank_texts(pd.DataFrame({"docno": ["a"], "text": ["hello"]}), None, "ce")
    ['hello']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from irrobust.errors import ModelError
from irrobust.pipeline.transformer import Transformer, add_ranks, check_columns


def as_docstore(docs: Any) -> Any:
    """A document store (``.texts(docnos)``) from a store or a dataset; ``None`` stays ``None``.

    Example:
        >>> as_docstore(None) is None
        True
    """
    if docs is None:
        return None
    if hasattr(docs, "texts"):
        return docs
    if hasattr(docs, "docs") and hasattr(docs.docs, "texts"):
        return docs.docs
    raise ModelError(f"docs must be a document store with .texts(docnos) or a dataset, got {type(docs).__name__}")


def rerank_texts(table: pd.DataFrame, docs: Any, stage: str) -> list[str]:
    """The document texts a reranking stage scores: the ``text`` column if present, else looked up in ``docs``.

    Example:
        >>> import pandas as pd
        >>> rerank_texts(pd.DataFrame({"docno": ["a"], "text": ["hi"]}), None, "ce")
        ['hi']
    """
    if "text" in table.columns:
        return table["text"].astype(str).tolist()
    if docs is None:
        raise ModelError("the results have no 'text' column and no document store was given to look texts up; "
                         "pass docs=dataset.docs when constructing the reranker", where=stage)  # fmt: skip
    return docs.texts(table["docno"].astype(str).tolist())


class ScoringReranker(Transformer):
    """Base of rerankers with a ``scorer.score(queries, texts) -> scores`` and a ``docs`` store.

    Example:
        >>> class Len(ScoringReranker):
        ...     def __init__(self):
        ...         self.docs = None
        ...         self.scorer = type("S", (), {"score": staticmethod(lambda q, t: [len(x) for x in t])})()
        >>> Len()(pd.DataFrame({"qid": ["1", "1"], "query": ["q", "q"], "docno": ["a", "b"],
        ...                     "text": ["x", "xyz"]}))["docno"].tolist()
        ['b', 'a']
    """

    docs: Any = None
    scorer: Any = None

    def transform(self, table: pd.DataFrame) -> pd.DataFrame:
        check_columns(table, ("qid", "query", "docno"), repr(self))
        if table.empty:
            return add_ranks(table.assign(score=pd.Series(dtype=float)))
        texts = rerank_texts(table, self.docs, repr(self))
        scores = np.asarray(self.scorer.score(table["query"].astype(str).tolist(), texts), dtype=np.float64)
        return add_ranks(table.assign(score=scores))
