"""PyTerrier interoperability (the ``pyterrier`` extra): PyTerrier transformers as irrobust stages, and irrobust's
stages, shifts, attacks and smoothed (CertDR) rankers as PyTerrier transformers.

PyTerrier 1.x (``pip install 'irrobust[pyterrier]'``) is imported only when one of these functions is called, and
nothing here starts Terrier's JVM (no ``pt.init()``; ``pt.java`` stays unstarted): irrobust's own indexes do the
retrieval. Both sides exchange the same data frames (``qid, query`` for queries; ``qid, query, docno, score, rank``
plus optional ``text`` for results); the one difference is the rank origin — PyTerrier counts ranks from 0,
irrobust from 1 — which the wrappers convert, recomputing ranks with each side's own rule.

* :func:`from_pyterrier` — any ``pt.Transformer`` as an irrobust stage (:class:`PyTerrierStage`): compose it with
  ``>>`` and ``%``, evaluate it, and — when it rescores a ``text`` column, as ``pt.apply.doc_score`` rerankers do —
  attack and certify it through the scoring protocol (``score_texts``).
* :func:`to_pyterrier` — an irrobust stage or system, a query shift, a smoothed ranker (or any object with
  ``score_texts`` / ``score``) as a ``pt.Transformer``; :func:`attack_transformer` an attack recipe against a ranker.

Example:
    >>> import pyterrier as pt                                                        # doctest: +SKIP
    >>> import irrobust as ir
    >>> from irrobust.interop.pyterrier import from_pyterrier, to_pyterrier
    >>> ds = ir.dataset("beir/scifact/test")                                           # doctest: +SKIP
    >>> bm25 = ir.BM25(ir.lucene_index(ds.collection), k=100)                          # doctest: +SKIP
    >>> rerank = pt.apply.doc_score(lambda df: df["text"].str.len(), batch_size=64)     # doctest: +SKIP
    >>> pt_pipe = to_pyterrier(bm25, docs=ds.docs) >> rerank    # irrobust inside PyTerrier  # doctest: +SKIP
    >>> ir_pipe = bm25 >> from_pyterrier(rerank, docs=ds.docs)  # PyTerrier inside irrobust  # doctest: +SKIP
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from irrobust.core.scoring import ScoringCapabilities, ScoringStage, score_by_transform
from irrobust.core.transformer import Transformer, add_ranks
from irrobust.errors import ConfigError, ModelError

__all__ = ["PyTerrierStage", "attack_transformer", "from_pyterrier", "require_pyterrier", "to_pyterrier"]


def require_pyterrier() -> Any:
    """The ``pyterrier`` module, or a :class:`ConfigError` saying how to install it. Never starts the JVM.

    Example:
        >>> require_pyterrier().__name__   # doctest: +SKIP
        'pyterrier'
    """
    try:
        import pyterrier
    except ImportError as exc:
        raise ConfigError("PyTerrier is not installed: pip install 'irrobust[pyterrier]' (python-terrier 1.x; no "
                          "Java needed for irrobust's use of it)", where="irrobust.interop.pyterrier") from exc  # fmt: skip
    return pyterrier


def _to_pt_ranks(table: pd.DataFrame) -> pd.DataFrame:
    """irrobust → PyTerrier: ranks from 0."""
    out = table.copy()
    if "rank" in out.columns:
        out["rank"] = out["rank"].astype("int64") - 1
    return out


def _from_pt(table: pd.DataFrame) -> pd.DataFrame:
    """PyTerrier → irrobust: string ids, and results re-ranked by irrobust's rule (from 1, ties by docno)."""
    out = table.copy()
    for col in ("qid", "docno"):
        if col in out.columns:
            out[col] = out[col].astype(str)
    if {"qid", "docno", "score"} <= set(out.columns):
        out = add_ranks(out.drop(columns=["rank"], errors="ignore"))
    return out.reset_index(drop=True)


def _with_text(table: pd.DataFrame, docs: Any, where: str) -> pd.DataFrame:
    if docs is None or "text" in table.columns or "docno" not in table.columns:
        return table
    from irrobust.rankers.rerank import as_docstore

    store = as_docstore(docs)
    try:
        texts = store.texts(table["docno"].astype(str).tolist())
    except KeyError as exc:
        raise ModelError(f"document {exc} is not in the document store", where=where) from None
    return table.assign(text=texts)


class PyTerrierStage(ScoringStage, Transformer):
    """A PyTerrier transformer as an irrobust stage (see :func:`from_pyterrier`).

    The input table goes to ``transformer.transform`` with PyTerrier's 0-based ranks (and a ``text`` column looked
    up in ``docs`` when given and missing); a ranked output comes back with irrobust's ranks. As a ranker it scores
    texts by running the transformer on a one-query table with a ``text`` column (a transformer that does not keep
    its input rows, such as a retriever, cannot score texts: a clear :class:`ModelError`).

    Example:
        >>> stage = PyTerrierStage(pt.apply.doc_score(lambda df: df["text"].str.len(), batch_size=8))   # doctest: +SKIP
        >>> stage.score_texts("q", ["ab", "abc"]).tolist()                                                # doctest: +SKIP
        [2.0, 3.0]
    """

    capabilities = ScoringCapabilities(kind="pyterrier")

    def __init__(self, transformer: Any, docs: Any = None, name: str | None = None) -> None:
        pt = require_pyterrier()
        if not isinstance(transformer, pt.Transformer):
            raise ModelError(f"expected a pyterrier.Transformer, got {type(transformer).__name__}",
                             where="from_pyterrier")  # fmt: skip
        self.transformer, self.docs = transformer, docs
        self.name = name or f"PT({type(transformer).__name__})"

    def transform(self, table: pd.DataFrame) -> pd.DataFrame:
        inp = _to_pt_ranks(_with_text(table, self.docs, repr(self)))
        return _from_pt(self.transformer.transform(inp))

    def score_texts(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Scores (float64, input order) of ``texts`` by the wrapped transformer (see the class docstring).

        Example:
            >>> stage.score_texts("vitamin d", ["vitamin d deficiency"]).shape   # doctest: +SKIP
            (1,)
        """
        return score_by_transform(self, query, texts)

    def spec(self) -> dict[str, Any]:
        return {"type": "PyTerrierStage", "transformer": repr(self.transformer)}


def from_pyterrier(transformer: Any, docs: Any = None, name: str | None = None) -> PyTerrierStage:
    """Wrap any ``pt.Transformer`` (retriever, reranker, query rewriter, a whole pipeline) as an irrobust stage.

    ``docs`` (a document store or dataset) adds a ``text`` column to inputs that lack one, for rerankers that read it.

    Example:
        >>> stage = from_pyterrier(pt.apply.doc_score(lambda r: len(r["text"])), docs=ds.docs)   # doctest: +SKIP
        >>> (bm25 % 20 >> stage)(ds.queries)                                                      # doctest: +SKIP
    """
    return PyTerrierStage(transformer, docs=docs, name=name)


@functools.lru_cache(maxsize=1)
def _classes() -> dict[str, type]:
    """The PyTerrier transformer classes (defined on first use, once PyTerrier is imported)."""
    pt = require_pyterrier()

    class IrrobustTransformer(pt.Transformer):
        """An irrobust stage or system as a PyTerrier transformer (ranks from 0 on the PyTerrier side)."""

        def __init__(self, stage: Transformer, docs: Any = None) -> None:
            self.stage, self.docs = stage, docs

        def transform(self, inp: pd.DataFrame) -> pd.DataFrame:
            table = inp.copy()
            if "rank" in table.columns:
                table["rank"] = table["rank"].astype("int64") + 1
            for col in ("qid", "docno"):
                if col in table.columns:
                    table[col] = table[col].astype(str)
            out = self.stage.transform(table)
            return _to_pt_ranks(_with_text(out, self.docs, repr(self.stage)))

        def __repr__(self) -> str:
            return f"irrobust({self.stage!r})"

    class ShiftTransformer(pt.Transformer):
        """A query shift as a PyTerrier query rewriter: ``query`` becomes the variant, ``query_0`` keeps the
        original (PyTerrier's convention), the shift's record columns come along."""

        def __init__(self, shift: Any) -> None:
            self.shift = shift

        def transform(self, inp: pd.DataFrame) -> pd.DataFrame:
            queries = inp[["qid", "query"]].drop_duplicates("qid").astype({"qid": str})
            variants = self.shift.transform(queries).set_index("qid")
            out = inp.copy()
            key = out["qid"].astype(str)
            out["query_0"] = out["query"]
            for col in variants.columns:
                out[col] = key.map(variants[col]).to_numpy()
            return out

        def __repr__(self) -> str:
            return f"irrobust({self.shift!r})"

    class ScoringTransformer(pt.Transformer):
        """Rescore a results frame with ``score_texts(query, texts)`` (or ``score``) per query — a smoothed
        (CertDR) ranker, or any irrobust ranker used through the scoring protocol."""

        def __init__(self, scorer: Any, docs: Any = None) -> None:
            self.scorer, self.docs = scorer, docs
            self._score: Callable[[str, list[str]], Any] = getattr(scorer, "score_texts", None) or scorer.score

        def transform(self, inp: pd.DataFrame) -> pd.DataFrame:
            table = _with_text(inp, self.docs, repr(self.scorer))
            if "text" not in table.columns:
                raise ModelError("the results have no 'text' column; pass docs= to look texts up",
                                 where=repr(self))  # fmt: skip
            if table.empty:
                return table.assign(score=pd.Series(dtype=float), rank=pd.Series(dtype="int64"))
            scores = np.zeros(len(table), dtype=np.float64)
            pos = np.arange(len(table))
            for query, rows in table.groupby("query", sort=False).indices.items():
                texts = table["text"].iloc[rows].astype(str).tolist()
                scores[pos[rows]] = np.asarray(self._score(str(query), texts), dtype=np.float64)
            out = table.assign(score=scores)
            return _to_pt_ranks(add_ranks(out.drop(columns=["rank"], errors="ignore").astype({"qid": str})))

        def __repr__(self) -> str:
            return f"irrobust({type(self.scorer).__name__})"

    class AttackTransformer(pt.Transformer):
        """Attack documents of a results frame (see :func:`attack_transformer`)."""

        def __init__(self, recipe: Any, ranker: Any, context: Any, ranks: Sequence[int], docs: Any) -> None:
            self.recipe, self.ranker, self.context, self.ranks, self.docs = recipe, ranker, context, ranks, docs

        def transform(self, inp: pd.DataFrame) -> pd.DataFrame:
            return _attack_frame(self, inp)

        def __repr__(self) -> str:
            return f"irrobust.attack({self.recipe.name})"

    return {"stage": IrrobustTransformer, "shift": ShiftTransformer, "scoring": ScoringTransformer,
            "attack": AttackTransformer}  # fmt: skip


def to_pyterrier(obj: Any, docs: Any = None) -> Any:
    """An irrobust object as a ``pt.Transformer``.

    * a :class:`~irrobust.shifts.base.QueryShift` → a query rewriter (``query_0`` keeps the original);
    * any other irrobust stage or system (retriever, reranker, ``bm25 % 100 >> ce``) → a transformer with
      PyTerrier's 0-based ranks; ``docs`` adds a ``text`` column to its output (for a PyTerrier reranker after it);
    * a smoothed ranker (:class:`~irrobust.certify.smoothing.SmoothedRanker`) or any object with
      ``score_texts(query, texts)`` / ``score(query, texts)`` → a reranker of a results frame's ``text`` (looked up
      in ``docs`` when missing).

    Example:
        >>> pipe = to_pyterrier(ir.BM25(index, k=100), docs=ds.docs) >> pt.apply.doc_score(fn, batch_size=64)   # doctest: +SKIP
        >>> smoothed = to_pyterrier(SmoothedRanker(scorer, sets, n_samples=100), docs=ds.docs)                  # doctest: +SKIP
    """
    from irrobust.shifts.base import QueryShift

    cls = _classes()
    if isinstance(obj, QueryShift):
        return cls["shift"](obj)
    if isinstance(obj, Transformer):
        return cls["stage"](obj, docs=docs)
    if callable(getattr(obj, "score_texts", None)) or callable(getattr(obj, "score", None)):
        return cls["scoring"](obj, docs=docs)
    raise ModelError(f"cannot expose a {type(obj).__name__} to PyTerrier: give an irrobust stage, a query shift, or a "
                     "ranker with score_texts(query, texts)", where="to_pyterrier")  # fmt: skip


def attack_transformer(recipe: Any, ranker: Any, context: Any = None, ranks: Sequence[int] = (-1,),
                       docs: Any = None) -> Any:  # fmt: skip
    """A ``pt.Transformer`` that attacks documents of each query's ranked list to promote them against ``ranker``.

    Args:
        recipe: an attack (:func:`irrobust.attacks.make_attack`, e.g. ``make_attack("random", max_words=5)``).
        ranker: the attacked model: any irrobust ranker or system (scored through ``score_texts``), e.g. a
            :class:`PyTerrierStage`.
        context: the :class:`~irrobust.attacks.AttackContext` (default: counter-fitted synonyms, stop words); PRADA
            needs one with a trained ``surrogate`` (:func:`irrobust.attacks.surrogate.train_surrogate`).
        ranks: 1-based ranks of the documents to attack in each list (negative: from the end; default: the last).
        docs: document store for inputs without a ``text`` column.

    Output: one row per attacked document — ``qid, query, docno, text`` (the attacked text), ``original_text``,
    ``rank_before``, ``rank_after`` (1-based, among the list's clean scores), ``score_before``, ``score_after``,
    ``edits``.

    Example:
        >>> attack = attack_transformer(make_attack("random", max_words=5), bm25)          # doctest: +SKIP
        >>> (to_pyterrier(bm25 % 20, docs=ds.docs) >> attack)(queries)                     # doctest: +SKIP
    """
    from irrobust.core.scoring import scorer_of

    if context is None:
        from irrobust.attacks import AttackContext, SynonymSwap
        from irrobust.data.synonyms import load_counterfitted

        context = AttackContext(SynonymSwap(load_counterfitted()))
    if getattr(recipe, "needs_surrogate", False) and getattr(context, "surrogate", None) is None:
        raise ConfigError(f"the {recipe.name} attack needs a surrogate model: pass an AttackContext with surrogate= "
                          "(irrobust.attacks.surrogate.train_surrogate)", where="attack_transformer")  # fmt: skip
    if not ranks or any(int(r) == 0 for r in ranks):
        raise ConfigError(f"ranks are 1-based (negative from the end), got {list(ranks)}", where="attack_transformer")
    return _classes()["attack"](recipe, scorer_of(ranker), context, tuple(int(r) for r in ranks), docs)


def _attack_frame(t: Any, inp: pd.DataFrame) -> pd.DataFrame:
    from irrobust.attacks import AttackInput, CachedTarget

    table = _with_text(inp, t.docs, repr(t))
    if "text" not in table.columns:
        raise ModelError("the results have no 'text' column; pass docs= to look texts up", where=repr(t))

    class _Target:
        def score(self, query: str, texts: list[str]) -> np.ndarray:
            return np.asarray(t.ranker.score_texts(query, texts), dtype=np.float64)

    target = CachedTarget(_Target())
    rows = []
    for qid, grp in table.astype({"qid": str, "docno": str}).groupby("qid", sort=True):
        grp = grp.sort_values("rank") if "rank" in grp.columns else grp
        query, texts, docnos = str(grp["query"].iloc[0]), grp["text"].astype(str).tolist(), grp["docno"].tolist()
        scores = target.score(query, texts)
        for r in dict.fromkeys(t.ranks):
            i = r - 1 if r > 0 else len(texts) + r
            if not 0 <= i < len(texts):
                continue
            inp_ = AttackInput(qid, query, docnos[i], texts[i], docnos, texts, scores, i, seed=i)
            res = t.recipe.attack(inp_, target, t.context)
            rows.append({"qid": qid, "query": query, "docno": docnos[i], "text": res.attacked,
                         "original_text": texts[i], "rank_before": res.rank_before, "rank_after": res.rank_after,
                         "score_before": res.score_before, "score_after": res.score_after, "edits": res.edits})  # fmt: skip
    return pd.DataFrame(rows, columns=["qid", "query", "docno", "text", "original_text", "rank_before", "rank_after",
                                       "score_before", "score_after", "edits"])  # fmt: skip
