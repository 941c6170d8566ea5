"""The attacked model of a system: its scoring stage, through the scoring protocol (:mod:`irrobust.core.scoring`).

Attacks need two things from a ranker, and ask nothing else of it:

* :func:`attack_target` — ``score(query, texts)`` (float64) of perturbed documents, i.e. the stage's
  ``score_texts``: BM25 / QL with Lucene's formulas and the index's statistics, a cross-encoder's or KNRM's model
  score, LTR's and dense rerankers' scores of the texts themselves, any user ranker's own scores;
* :func:`attack_white_box` — the embedding-level view of a differentiable ranker (``capabilities.differentiable``,
  ``white_box()``), for white-box gradient attacks; ``None`` for black-box-only rankers.

Stages that cannot score a document alone (RM3 expands the query from the index; fusion has no single scoring
stage) are refused with a :class:`~irrobust.errors.ModelError` naming the stage.

Example:
    >>> from irrobust.rankers.lexical import BM25                                      # doctest: +SKIP
    >>> target = attack_target(BM25(ir.lucene_index("beir/scifact"), k=100))          # doctest: +SKIP
    >>> target.score("vitamin d", ["vitamin d deficiency", "unrelated"])              # doctest: +SKIP
    array([7.1..., 0.])
"""

from __future__ import annotations

from typing import Any

from irrobust.core.scoring import ProtocolTarget, WhiteBox, scorer_of
from irrobust.errors import ModelError


def attack_target(stage: Any, threads: int | None = None) -> ProtocolTarget:
    """The attack target of a stage or a whole system (its scoring stage), scoring on ``threads`` threads.

    Raises :class:`ModelError` for stages that cannot score arbitrary texts (RM3, fusion, non-rankers).

    Example:
        >>> attack_target(object())  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ModelError: ...
    """
    scorer = scorer_of(stage)
    if threads is not None and hasattr(scorer, "set_threads"):
        scorer.set_threads(int(threads))
    return ProtocolTarget(scorer)


def attack_white_box(stage: Any) -> WhiteBox | None:
    """The white-box view of a differentiable ranker (``capabilities.differentiable``), else ``None``.

    Example:
        >>> from irrobust.core.scoring import ScoringStage
        >>> class Len(ScoringStage):
        ...     def score_texts(self, query, texts): return [0.0] * len(texts)
        >>> attack_white_box(Len()) is None
        True
    """
    try:
        scorer = scorer_of(stage)
    except ModelError:
        return None
    if not scorer.capabilities.differentiable:
        return None
    box = scorer.white_box()  # type: ignore[attr-defined]
    if not isinstance(box, WhiteBox):
        raise ModelError(f"white_box() returned a {type(box).__name__}, which lacks doc_tokens / score_grad / "
                         "word_embedding", where=type(scorer).__name__)  # fmt: skip
    return box


def last_stage(system: Any) -> Any:
    """The last stage of a built system (through :class:`Memo` and :class:`Compose` wrappers).

    Example:
        >>> from irrobust.core.transformer import Identity
        >>> type(last_stage(Identity() >> Identity())).__name__
        'Identity'
    """
    from irrobust.core.transformer import Transformer

    return system.final() if isinstance(system, Transformer) else system


__all__ = ["ProtocolTarget", "attack_target", "attack_white_box", "last_stage"]
