"""A Python function as a ranker: ``FunctionRanker(fn)`` with ``fn(query, texts) -> scores``.

The quickest way to evaluate one's own model with irrobust: wrap its scoring function, put it behind a first
stage (``bm25 % 100 >> FunctionRanker(fn)``), and it reranks, can be attacked by every black-box attack and
certified by CertDR, through the scoring protocol (:mod:`irrobust.core.scoring`) like irrobust's own rankers.

``fn`` receives one query and a list of document texts and returns one number per text (higher is better): a
list, tuple or NumPy array of finite numbers. Anything else (a wrong length, NaN, a string, an exception inside
``fn``) is a :class:`~irrobust.errors.ModelError` that names the function.

Example:
    >>> import pandas as pd
    >>> def overlap(query, texts):
    ...     q = set(query.lower().split())
    ...     return [len(q & set(t.lower().split())) for t in texts]
    >>> ranker = FunctionRanker(overlap)
    >>> ranker.score_texts("vitamin d", ["Vitamin D deficiency", "sleep"]).tolist()
    [2.0, 0.0]
    >>> table = pd.DataFrame({"qid": ["1", "1"], "query": ["vitamin d"] * 2, "docno": ["a", "b"],
    ...                       "text": ["sleep", "vitamin d levels"]})
    >>> ranker(table)[["docno", "score", "rank"]].values.tolist()
    [['b', 2.0, 1], ['a', 0.0, 2]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from irrobust.core.scoring import BOUNDED_KINDS, ScoringCapabilities, ScoringStage
from irrobust.core.transformer import Transformer, add_ranks, check_columns
from irrobust.errors import ModelError
from irrobust.rankers.rerank import as_docstore, rerank_texts


def function_name(fn: Callable[..., Any]) -> str:
    """``module.qualname`` of a callable (its identity in specs and error messages).

    Example:
        >>> function_name(len)
        'builtins.len'
    """
    module = getattr(fn, "__module__", None) or type(fn).__module__
    qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{module}.{qualname}"


class FunctionRanker(ScoringStage, Transformer):
    """Reranking stage (and ranker) that scores documents with ``fn(query, texts) -> scores``.

    Args:
        fn: the scoring function; called once per distinct query of a results table, with that query's texts.
        docs: a document store (``dataset.docs``) or dataset, for results tables without a ``text`` column.
        name: the stage's name in reports (default: ``Function(<fn's name>)``).
        bounded: declare that ``fn``'s scores map to [0, 1] by a fixed transform (``"identity"`` for scores
            already in [0, 1], ``"tanh"`` for [-1, 1], ``"sigmoid"`` for logits); certification then uses it
            instead of a logistic squashing calibrated on training queries.
        version: a string recorded in the stage's spec; change it when ``fn``'s behaviour changes, so that
            checkpoints of runs with the old function are not reused.

    Example:
        >>> FunctionRanker(lambda q, ts: [len(t) for t in ts]).score_pairs(["q", "r"], ["ab", "c"]).tolist()
        [2.0, 1.0]
    """

    def __init__(self, fn: Callable[[str, list[str]], Any], docs: Any = None, name: str | None = None,
                 bounded: str | None = None, version: str | None = None) -> None:  # fmt: skip
        if not callable(fn):
            raise ModelError(f"FunctionRanker needs a callable fn(query, texts) -> scores, got {type(fn).__name__}",
                             where="FunctionRanker")  # fmt: skip
        if bounded is not None and bounded not in BOUNDED_KINDS:
            raise ModelError(f"bounded must be one of {list(BOUNDED_KINDS)} or None, got {bounded!r}",
                             where="FunctionRanker")  # fmt: skip
        self.fn, self.docs, self.version = fn, as_docstore(docs), version
        self.function = function_name(fn)
        self.name = name or f"Function({getattr(fn, '__name__', self.function)})"
        self._capabilities = ScoringCapabilities(bounded=bounded, kind="function")

    @property
    def capabilities(self) -> ScoringCapabilities:  # type: ignore[override]
        """Black box (not differentiable, no fast smoothed path); ``bounded`` as declared."""
        return self._capabilities

    def score_texts(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """``fn(query, texts)`` as a float64 array, checked (one finite number per text).

        Example:
            >>> FunctionRanker(lambda q, ts: [float("nan")] * len(ts)).score_texts("q", ["a"])  # doctest: +IGNORE_EXCEPTION_DETAIL
            Traceback (most recent call last):
            irrobust.errors.ModelError: ...
        """
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros(0, dtype=np.float64)
        try:
            raw = self.fn(str(query), texts)
        except Exception as exc:  # the user's code: report it located, never as a bare traceback
            raise ModelError(f"the scoring function raised {type(exc).__name__}: {exc}", where=self.function) from exc
        try:
            scores = np.asarray(raw, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"the scoring function must return numbers, one per text; got {type(raw).__name__}",
                             where=self.function) from exc  # fmt: skip
        if len(scores) != len(texts):
            raise ModelError(f"the scoring function returned {len(scores)} scores for {len(texts)} texts",
                             where=self.function)  # fmt: skip
        if not np.isfinite(scores).all():
            raise ModelError("the scoring function returned a NaN or infinite score", where=self.function)
        return scores

    def transform(self, table: pd.DataFrame) -> pd.DataFrame:
        check_columns(table, ("qid", "query", "docno"), repr(self))
        if table.empty:
            return add_ranks(table.assign(score=pd.Series(dtype=float)))
        texts = rerank_texts(table, self.docs, repr(self))
        scores = self.score_pairs(table["query"].astype(str).tolist(), texts)
        return add_ranks(table.assign(score=scores))

    def spec(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "FunctionRanker", "function": self.function}
        if self.version is not None:
            out["version"] = self.version
        if self._capabilities.bounded is not None:
            out["bounded"] = self._capabilities.bounded
        return out


__all__ = ["FunctionRanker", "function_name"]
