"""The scoring protocol: what attacks, certification and shifts need from a ranking stage, and nothing else.

A ranking stage transforms a results table (:class:`~irrobust.core.transformer.Transformer`); a stage that is a
*ranker* also scores arbitrary texts, so a perturbed document can be scored without being indexed:

* ``score_texts(query, texts) -> np.ndarray`` — one score per text (higher is better), batched;
* ``score_pairs(queries, texts) -> np.ndarray`` — aligned (query, text) pairs, many queries at once;
* ``capabilities`` — a :class:`ScoringCapabilities`: whether the stage can score texts at all (RM3 cannot: it
  expands the query from the index), whether it is differentiable (``white_box()`` gives the embedding-level view
  white-box attacks use, see :class:`WhiteBox`), whether it has a fast smoothed-scoring path for CertDR
  (``score_token_samples(query, strings, samples)``: raw scores of many copies of a document given as matrices of
  token-string ids, without materialising their texts), and an optional fixed map of its raw scores to [0, 1]
  (``bounded``: ``"identity"`` for scores already in [0, 1] such as a cross-encoder's sigmoid, ``"tanh"`` for
  scores in [-1, 1], ``"sigmoid"`` for logits; ``None``: certification calibrates a logistic squashing on training
  queries).

:class:`ScoringStage` is the mixin irrobust's rankers inherit: it supplies ``score_pairs`` (grouped by query) and
refusing defaults for the optional hooks. A user's stage needs no base class: any object with the three members
above is a ranker (:class:`TextScorer` is a runtime-checkable :class:`typing.Protocol`). :func:`scorer_of` is the one
entry point the robustness tasks use: it unwraps a composite system to its scoring stage and checks the protocol.

Example:
    >>> import numpy as np
    >>> class Overlap(ScoringStage):
    ...     capabilities = ScoringCapabilities(kind="overlap")
    ...     def score_texts(self, query, texts):
    ...         q = set(query.split())
    ...         return np.array([len(q & set(t.split())) for t in texts], dtype=np.float64)
    >>> scorer_of(Overlap()).score_texts("big dog", ["a big dog", "a cat"]).tolist()
    [2.0, 0.0]
    >>> Overlap().score_pairs(["big", "cat", "big"], ["big", "a cat", "dog"]).tolist()
    [1.0, 1.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from irrobust.errors import ModelError

#: the fixed maps of raw scores to [0, 1] a ranker may declare (see :class:`ScoringCapabilities`)
BOUNDED_KINDS = ("identity", "tanh", "sigmoid")


@dataclass(frozen=True)
class ScoringCapabilities:
    """What a ranker can do beyond ``score_texts``.

    Attributes:
        scores_texts: the stage scores arbitrary texts (False for query-expansion stages such as RM3).
        differentiable: ``white_box()`` returns a :class:`WhiteBox` (white-box gradient attacks).
        fast_smoothing: ``score_token_samples`` scores token-id copies directly (CertDR's fast path).
        bounded: ``"identity"`` / ``"tanh"`` / ``"sigmoid"``: the fixed map of raw scores to [0, 1] for
            certification; ``None``: unbounded scores (a logistic squashing is calibrated on training queries).
        kind: a short label of the ranker family in result tables (default: the class name).
        reason: why the stage cannot score texts (when ``scores_texts`` is False).

    Example:
        >>> ScoringCapabilities(bounded="tanh").differentiable
        False
        >>> ScoringCapabilities(bounded="softmax")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ModelError: ...
    """

    scores_texts: bool = True
    differentiable: bool = False
    fast_smoothing: bool = False
    bounded: str | None = None
    kind: str = ""
    reason: str = ""

    def __post_init__(self) -> None:
        if self.bounded is not None and self.bounded not in BOUNDED_KINDS:
            raise ModelError(f"unknown bounded-score transform {self.bounded!r}; use one of {list(BOUNDED_KINDS)} "
                             "or None", where="ScoringCapabilities.bounded")  # fmt: skip


@runtime_checkable
class TextScorer(Protocol):
    """The scoring protocol (see the module docstring); any object with these members is a ranker.

    Example:
        >>> isinstance(object(), TextScorer)
        False
    """

    capabilities: ScoringCapabilities

    def score_texts(self, query: str, texts: Sequence[str]) -> np.ndarray: ...

    def score_pairs(self, queries: Sequence[str], texts: Sequence[str]) -> np.ndarray: ...


@runtime_checkable
class WhiteBox(Protocol):
    """The embedding-level view of a differentiable ranker that gradient attacks use.

    ``doc_tokens(text, query)`` gives the document's word-piece ids and their character offsets (as the model
    truncates them), ``score_grad(query, text)`` the pieces' input embeddings and ``∂score/∂embeddings``, and
    ``word_embedding(word)`` a word's mean piece embedding (candidate substitutions are ranked in that space).

    Example:
        >>> isinstance(object(), WhiteBox)
        False
    """

    def doc_tokens(self, text: str, query: str = "") -> tuple[list[int], list[tuple[int, int]]]: ...

    def score_grad(self, query: str, text: str) -> tuple[Any, Any]: ...

    def word_embedding(self, word: str) -> Any: ...


def group_pairs(queries: Sequence[str], n_texts: int) -> dict[str, list[int]]:
    """Row positions of each distinct query, in order of first appearance (what ``score_pairs`` batches on).

    Example:
        >>> group_pairs(["a", "b", "a"], 3)
        {'a': [0, 2], 'b': [1]}
    """
    if len(queries) != n_texts:
        raise ModelError(f"{len(queries)} queries but {n_texts} texts; they must align")
    groups: dict[str, list[int]] = {}
    for i, q in enumerate(queries):
        groups.setdefault(str(q), []).append(i)
    return groups


class ScoringStage:
    """Mixin of irrobust's rankers: ``score_pairs`` from ``score_texts``, and refusing defaults for the hooks.

    Subclasses implement ``score_texts`` and set ``capabilities`` (a class attribute or a property); a
    differentiable one implements ``white_box``, one with a fast smoothed path ``score_token_samples``; one whose
    scorer runs torch threads overrides ``set_threads``.

    Example:
        >>> class Length(ScoringStage):
        ...     def score_texts(self, query, texts): return np.array([len(t) for t in texts], float)
        >>> Length().score_pairs(["q", "r"], ["ab", "c"]).tolist()
        [2.0, 1.0]
        >>> Length().white_box()  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ModelError: ...
    """

    capabilities: ClassVar[ScoringCapabilities] = ScoringCapabilities()

    def score_texts(self, query: str, texts: Sequence[str]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def score_pairs(self, queries: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        """Scores (float64) of aligned ``(queries[i], texts[i])`` pairs: one ``score_texts`` call per distinct query.

        Example:
            >>> class One(ScoringStage):
            ...     def score_texts(self, query, texts): return np.ones(len(texts))
            >>> One().score_pairs([], []).shape
            (0,)
        """
        texts = list(texts)
        out = np.zeros(len(texts), dtype=np.float64)
        for query, rows in group_pairs(list(queries), len(texts)).items():
            scores = np.asarray(self.score_texts(query, [texts[i] for i in rows]), dtype=np.float64).reshape(-1)
            if len(scores) != len(rows):
                raise ModelError(f"score_texts returned {len(scores)} scores for {len(rows)} texts",
                                 where=type(self).__name__)  # fmt: skip
            out[rows] = scores
        return out

    def white_box(self) -> WhiteBox:
        """The :class:`WhiteBox` of a differentiable ranker; :class:`ModelError` for others."""
        raise ModelError("this ranker is not differentiable (no white-box view)", where=type(self).__name__)

    def score_token_samples(
        self, query: str, strings: Sequence[str], samples: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        """Raw scores of copies given as token-id matrices (rows: copies; ids index ``strings``; a copy's text is
        its tokens joined by spaces); :class:`ModelError` for rankers without this fast path."""
        raise ModelError("this ranker has no fast smoothed-scoring path", where=type(self).__name__)

    def set_threads(self, threads: int) -> None:
        """Set the number of CPU threads scoring uses (a no-op for rankers without a thread setting)."""


def score_by_transform(stage: Any, query: str, texts: Sequence[str]) -> np.ndarray:
    """Scores (float64, input order) of ``texts`` by a reranking stage that reads a ``text`` column, run on a
    one-query results table (docno ``""``, so no stored per-document representation is used: clean and perturbed
    texts are scored alike).

    The ``score_texts`` of rerankers whose scores come from a whole-table computation (LTR features, dense
    encodings); the stage must keep its input rows.

    Example:
        >>> import pandas as pd
        >>> from irrobust.core.transformer import Transformer, add_ranks
        >>> class Len(Transformer):
        ...     def transform(self, t): return add_ranks(t.assign(score=t["text"].str.len().astype(float)))
        >>> score_by_transform(Len(), "q", ["abc", "a"]).tolist()
        [3.0, 1.0]
    """
    import pandas as pd

    texts = list(texts)
    if not texts:
        return np.zeros(0, dtype=np.float64)
    n = len(texts)
    table = pd.DataFrame({"qid": ["score"] * n, "query": [query] * n, "docno": [""] * n, "score": np.zeros(n),
                          "rank": np.arange(1, n + 1), "text": texts, "_pos": np.arange(n)})  # fmt: skip
    out = stage.transform(table)
    if "_pos" not in out.columns or len(out) != n:
        raise ModelError(f"{stage!r} does not keep the rows of its input; it cannot score texts",
                         where=type(stage).__name__)  # fmt: skip
    scores = np.empty(n, dtype=np.float64)
    scores[out["_pos"].to_numpy(dtype=np.int64)] = out["score"].to_numpy(dtype=np.float64)
    return scores


class ProtocolTarget:
    """A ranker as the ``score(query, texts) -> float64 scores`` callable attacks and certification consume.

    Example:
        >>> class Len(ScoringStage):
        ...     def score_texts(self, query, texts): return np.array([len(t) for t in texts], np.float32)
        >>> ProtocolTarget(Len()).score("q", ["ab", "c"]).tolist()
        [2.0, 1.0]
    """

    def __init__(self, scorer: TextScorer) -> None:
        self.scorer = scorer

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Scores (float64) of ``texts`` for ``query``, in input order.

        Example:
            >>> target.score("q", []).shape   # doctest: +SKIP
            (0,)
        """
        texts = list(texts)
        scores = np.asarray(self.scorer.score_texts(query, texts), dtype=np.float64).reshape(-1)
        if len(scores) != len(texts):
            raise ModelError(f"score_texts returned {len(scores)} scores for {len(texts)} texts",
                             where=type(self.scorer).__name__)  # fmt: skip
        return scores


def scoring_stage(system: Any) -> Any:
    """The stage whose scores a system outputs: ``final()`` of a composite, looking through trailing rank cutoffs
    (``ranker % k`` keeps the ranker's scores).

    Example:
        >>> from irrobust.core.transformer import Identity
        >>> a = Identity()
        >>> scoring_stage(a % 10) is a
        True
    """
    from irrobust.core.transformer import Compose, RankCutoff, Transformer

    if not isinstance(system, Transformer):
        return system
    if isinstance(system, Compose):
        stages = [s for s in system.stages if not isinstance(s, RankCutoff)]
        return scoring_stage(stages[-1]) if stages else system
    final = system.final()
    return final if final is system else scoring_stage(final)


def scorer_of(stage: Any) -> TextScorer:
    """The ranker that scores texts for a stage or a whole system (composites: their scoring stage).

    Raises :class:`ModelError` (naming the stage) when it is not a ranker or declares it cannot score texts.

    Example:
        >>> scorer_of(object())  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ModelError: ...
    """
    stage = scoring_stage(stage)
    name = type(stage).__name__
    if not isinstance(stage, TextScorer):
        raise ModelError(f"a {name} stage is not a ranker: it has no score_texts(query, texts) / capabilities "
                         "(fusion and query-side stages cannot score a document alone)", where=name)  # fmt: skip
    caps = stage.capabilities
    if not isinstance(caps, ScoringCapabilities):
        raise ModelError(f"capabilities must be a ScoringCapabilities, got {type(caps).__name__}", where=name)
    if not caps.scores_texts:
        raise ModelError(caps.reason or f"a {name} stage cannot score arbitrary texts", where=name)
    return stage


def scoring_kind(scorer: Any) -> str:
    """The label of a ranker in result tables: ``capabilities.kind``, else its class name.

    Example:
        >>> class R(ScoringStage): pass
        >>> scoring_kind(R())
        'R'
    """
    return scorer.capabilities.kind or type(scorer).__name__


__all__ = [
    "BOUNDED_KINDS",
    "ProtocolTarget",
    "ScoringCapabilities",
    "ScoringStage",
    "TextScorer",
    "WhiteBox",
    "group_pairs",
    "score_by_transform",
    "scorer_of",
    "scoring_stage",
    "scoring_kind",
]
