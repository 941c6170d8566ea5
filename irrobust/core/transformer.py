"""The stage algebra: every retrieval component is a :class:`Transformer` over tables.

Inspired by PyTerrier's transformers and operators (Macdonald & Tonellotto,
"Declarative Experimentation in Information Retrieval using PyTerrier", ICTIR 2020);
reimplemented here. The data contract:

* queries: ``qid, query`` (+ ``variant_of, shift`` for a shifted query)
* results: ``qid, query, docno, score, rank`` (+ ``text`` where a stage needs it)
* documents: ``docno, text`` (+ ``perturbed_from, attack, edits``)

Operators:

* ``a >> b``: compose (``b`` transforms ``a``'s output),
* ``a % k``: keep the top ``k`` of each query,
* ``a + b``: sum scores (a document missing from one side contributes 0 there),
* ``w * a``: scale scores,
* ``rrf(a, b, k=60)``: reciprocal rank fusion.

Composites are iterable over their children (``list(a >> b) == [a, b]``, as PyTerrier's n-ary transformers), a leaf
iterates over nothing, and :meth:`Transformer.final` names the stage that produces a composite's final scores
(through compositions and memos), so no caller unwraps composites by hand.

Example:
    >>> import pandas as pd
    >>> class Const(Transformer):
    ...     def transform(self, queries):
    ...         rows = [(q.qid, q.query, d, s) for q in queries.itertuples() for d, s in [("d1", 1.0), ("d2", 2.0)]]
    ...         return add_ranks(pd.DataFrame(rows, columns=["qid", "query", "docno", "score"]))
    >>> out = (Const() % 1)(pd.DataFrame({"qid": ["1"], "query": ["hi"]}))
    >>> out[["docno", "rank"]].values.tolist()
    [['d2', 1]]
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from irrobust.errors import IrrobustError

QUERY_COLUMNS = ("qid", "query")
RESULT_COLUMNS = ("qid", "query", "docno", "score", "rank")


def add_ranks(results: pd.DataFrame) -> pd.DataFrame:
    """Sort results by (qid, score desc, docno) and set ``rank`` from 1; ties break on docno.

    Deterministic tie-breaking keeps runs reproducible.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"qid": ["1", "1"], "docno": ["b", "a"], "score": [1.0, 1.0]})
        >>> add_ranks(df)[["docno", "rank"]].values.tolist()
        [['a', 1], ['b', 2]]
    """
    if results.empty:
        out = results.copy()
        out["rank"] = pd.Series(dtype="int64")
        return out.reset_index(drop=True)
    out = results.sort_values(["qid", "score", "docno"], ascending=[True, False, True], kind="mergesort")
    out = out.reset_index(drop=True)
    out["rank"] = out.groupby("qid", sort=False).cumcount().astype("int64") + 1
    return out


def check_columns(table: pd.DataFrame, required: Iterable[str], stage: str) -> None:
    """Raise a clear :class:`IrrobustError` when ``table`` lacks ``required`` columns.

    Example:
        >>> import pandas as pd
        >>> check_columns(pd.DataFrame({"qid": []}), ["qid"], "bm25")
    """
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise IrrobustError(
            f"stage expects columns {sorted(required)} but its input lacks {missing} "
            f"(it has {list(table.columns)}); check the order of the stages",
            where=stage,
        )


def as_queries(queries: pd.DataFrame | Sequence[str] | str) -> pd.DataFrame:
    """Accept a queries table, a list of query strings or one string; return ``qid, query``.

    Example:
        >>> as_queries(["a b", "c"]).values.tolist()
        [['1', 'a b'], ['2', 'c']]
    """
    if isinstance(queries, str):
        queries = [queries]
    if not isinstance(queries, pd.DataFrame):
        queries = pd.DataFrame({"qid": [str(i + 1) for i in range(len(queries))], "query": list(queries)})
    check_columns(queries, QUERY_COLUMNS, "queries")
    return queries


class Transformer:
    """A pipeline stage: ``transform(table) -> table``. Subclasses override :meth:`transform`.

    ``name`` labels the stage in reports; :meth:`spec` describes it for config hashes and caches.

    Example:
        >>> class Upper(Transformer):
        ...     def transform(self, queries):
        ...         return queries.assign(query=queries["query"].str.upper())
        >>> Upper()(["abc"])["query"].tolist()
        ['ABC']
    """

    name: str = ""

    def transform(self, table: pd.DataFrame) -> pd.DataFrame:
        """Transform a table; see the data contract in the module docstring.

        Example:
            >>> Identity().transform(as_queries("x"))["query"].tolist()
            ['x']
        """
        raise NotImplementedError(f"{type(self).__name__} must implement transform()")

    def __call__(self, table: pd.DataFrame | Sequence[str] | str) -> pd.DataFrame:
        if not isinstance(table, pd.DataFrame):
            table = as_queries(table)
        return self.transform(table)

    def spec(self) -> dict[str, Any]:
        """A JSON-able description of the stage (type and parameters).

        Example:
            >>> Identity().spec()
            {'type': 'Identity'}
        """
        return {"type": type(self).__name__}

    def __repr__(self) -> str:
        return self.name or type(self).__name__

    def __iter__(self) -> Iterator[Transformer]:
        """The stage's children (none for a leaf stage).

        Example:
            >>> list(Identity())
            []
        """
        return iter(())

    def final(self) -> Transformer:
        """The stage whose output is this stage's final scores: itself for a leaf or a fusion, the last stage of a
        composition, the wrapped stage of a memo.

        Example:
            >>> a, b = Identity(), Identity()
            >>> (a >> Memo(b)).final() is b
            True
        """
        return self

    def __rshift__(self, other: Transformer) -> Compose:
        return Compose(self, other)

    def __mod__(self, k: int) -> Compose:
        return Compose(self, RankCutoff(k))

    def __add__(self, other: Transformer) -> ScoreSum:
        return ScoreSum(self, other)

    def __rmul__(self, weight: float) -> ScoreScale:
        return ScoreScale(self, float(weight))


class Identity(Transformer):
    """Returns its input unchanged.

    Example:
        >>> Identity()(["q"]).shape
        (1, 2)
    """

    def transform(self, table: pd.DataFrame) -> pd.DataFrame:
        return table


class Compose(Transformer):
    """``a >> b >> ...``: apply stages in order (nested compositions are flattened).

    Example:
        >>> (Identity() >> Identity()).stages.__len__()
        2
    """

    def __init__(self, *stages: Transformer) -> None:
        flat: list[Transformer] = []
        for stage in stages:
            if not isinstance(stage, Transformer):
                raise IrrobustError(f"cannot compose {stage!r}: it is not a pipeline stage")
            flat.extend(stage.stages if isinstance(stage, Compose) else [stage])
        self.stages = flat

    def transform(self, table: pd.DataFrame) -> pd.DataFrame:
        for stage in self.stages:
            table = stage.transform(table)
        return table

    def __iter__(self) -> Iterator[Transformer]:
        return iter(self.stages)

    def final(self) -> Transformer:
        return self.stages[-1].final() if self.stages else self

    def spec(self) -> dict[str, Any]:
        return {"type": "Compose", "stages": [s.spec() for s in self.stages]}

    def __repr__(self) -> str:
        return self.name or " >> ".join(repr(s) for s in self.stages)


class RankCutoff(Transformer):
    """``a % k``: keep ranks 1..k of every query.

    Example:
        >>> import pandas as pd
        >>> df = add_ranks(pd.DataFrame({"qid": ["1"] * 3, "docno": list("abc"), "score": [3.0, 2.0, 1.0]}))
        >>> RankCutoff(2)(df)["docno"].tolist()
        ['a', 'b']
    """

    def __init__(self, k: int) -> None:
        if int(k) != k or k < 1:
            raise IrrobustError(f"rank cutoff must be a positive integer, got {k!r}")
        self.k = int(k)

    def transform(self, table: pd.DataFrame) -> pd.DataFrame:
        check_columns(table, ("qid", "rank"), repr(self))
        return table[table["rank"] <= self.k].reset_index(drop=True)

    def spec(self) -> dict[str, Any]:
        return {"type": "RankCutoff", "k": self.k}

    def __repr__(self) -> str:
        return f"%{self.k}"


def _merge_scores(tables: list[pd.DataFrame], weights: list[float], name: str) -> pd.DataFrame:
    keyed = []
    for i, t in enumerate(tables):
        check_columns(t, ("qid", "docno", "score"), name)
        keyed.append(t.set_index(["qid", "docno"])["score"].rename(f"s{i}"))
    merged = pd.concat(keyed, axis=1, join="outer").fillna(0.0)
    score = sum(w * merged[f"s{i}"] for i, w in enumerate(weights))
    out = score.rename("score").reset_index()
    queries = pd.concat([t[["qid", "query"]] for t in tables if "query" in t.columns]).drop_duplicates("qid")
    if not queries.empty:
        out = out.merge(queries, on="qid", how="left")
    return add_ranks(out)


class ScoreSum(Transformer):
    """``a + b``: per (qid, docno), the sum of both stages' scores (0 where a stage lacks the doc).

    Example:
        >>> (Identity() + Identity()).spec()["type"]
        'ScoreSum'
    """

    def __init__(self, left: Transformer, right: Transformer) -> None:
        self.left, self.right = left, right

    def transform(self, table: pd.DataFrame) -> pd.DataFrame:
        return _merge_scores([self.left.transform(table), self.right.transform(table)], [1.0, 1.0], repr(self))

    def __iter__(self) -> Iterator[Transformer]:
        return iter((self.left, self.right))

    def spec(self) -> dict[str, Any]:
        return {"type": "ScoreSum", "left": self.left.spec(), "right": self.right.spec()}

    def __repr__(self) -> str:
        return self.name or f"({self.left!r} + {self.right!r})"


class ScoreScale(Transformer):
    """``w * a``: multiply a stage's scores by ``w`` (ranks recomputed).

    Example:
        >>> (2 * Identity()).weight
        2.0
    """

    def __init__(self, inner: Transformer, weight: float) -> None:
        self.inner, self.weight = inner, weight

    def transform(self, table: pd.DataFrame) -> pd.DataFrame:
        out = self.inner.transform(table).copy()
        out["score"] = out["score"] * self.weight
        return add_ranks(out)

    def __iter__(self) -> Iterator[Transformer]:
        return iter((self.inner,))

    def spec(self) -> dict[str, Any]:
        return {"type": "ScoreScale", "weight": self.weight, "inner": self.inner.spec()}


class RRF(Transformer):
    """Reciprocal rank fusion, score(d) = Σ_s 1 / (k + rank_s(d)) (Cormack, Clarke & Büttcher, SIGIR 2009).

    Example:
        >>> rrf(Identity(), Identity(), k=60).k
        60
    """

    def __init__(self, systems: Sequence[Transformer], k: int = 60) -> None:
        if len(systems) < 2:
            raise IrrobustError("rrf needs at least two systems")
        self.systems, self.k = list(systems), int(k)

    def transform(self, table: pd.DataFrame) -> pd.DataFrame:
        outs = []
        for s in self.systems:
            res = s.transform(table)
            check_columns(res, ("qid", "docno", "rank"), repr(self))
            outs.append(res.assign(score=1.0 / (self.k + res["rank"].to_numpy(dtype=np.float64))))
        return _merge_scores(outs, [1.0] * len(outs), repr(self))

    def __iter__(self) -> Iterator[Transformer]:
        return iter(self.systems)

    def spec(self) -> dict[str, Any]:
        return {"type": "RRF", "k": self.k, "systems": [s.spec() for s in self.systems]}

    def __repr__(self) -> str:
        return self.name or "rrf(" + ", ".join(repr(s) for s in self.systems) + ")"


def rrf(*systems: Transformer, k: int = 60) -> RRF:
    """Reciprocal rank fusion of several systems.

    Example:
        >>> len(rrf(Identity(), Identity()).systems)
        2
    """
    return RRF(systems, k=k)


class Memo(Transformer):
    """Remember a stage's output per input queries table, so fused systems reuse their parts' runs.

    Example:
        >>> from irrobust.core.transformer import Identity
        >>> m = Memo(Identity()); _ = m(["a"]); len(m._cache)
        1
    """

    def __init__(self, inner: Transformer) -> None:
        self.inner = inner
        self.name = inner.name
        self._cache: dict[str, pd.DataFrame] = {}

    def transform(self, table: pd.DataFrame) -> pd.DataFrame:
        key = hashlib.sha256(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes()).hexdigest()
        if key not in self._cache:
            self._cache[key] = self.inner.transform(table)
        return self._cache[key]

    def __iter__(self) -> Iterator[Transformer]:
        return iter((self.inner,))

    def final(self) -> Transformer:
        return self.inner.final()

    def spec(self) -> dict:
        return self.inner.spec()

    def __repr__(self) -> str:
        return repr(self.inner)
