"""The goal of a ranking attack: what is attacked, the rank to reach, the counted target model, the result.

irrobust's attacks follow TextAttack's decomposition (Morris et al., EMNLP 2020 demo) — a goal function, a
list of constraints (:mod:`irrobust.attacks.constraints`), a transformation
(:mod:`irrobust.attacks.transformation`) and a search method (:mod:`irrobust.attacks.search`) —
reimplemented for *ranking* attacks (Wu et al., "PRADA: Practical Black-Box Adversarial Attacks against
Neural Ranking Models", TOIS 2023): the goal is a rank, not a label. As TextAttack's goal function wraps and
counts the model, this module holds the target model too.

* **Target** — anything with ``score(query, texts) -> np.ndarray`` (higher is better). :class:`CachedTarget`
  wraps one: it deduplicates, caches (query, text) scores, batches the misses and counts every pair sent
  to the model (the attack's *target queries*).
* **Goal** — :class:`RankGoal`: the rank of a (perturbed) document is its position among the *clean*
  scores of the other candidates of the ranked list (their scores are fixed, as in PRADA's evaluation);
  ties count against the attacker. ``success_rank`` (optional) is the "promote past rank K" goal.
* :class:`AttackInput` — one target document of one ranked list (its goal: :meth:`AttackInput.goal`);
  :class:`AttackResult` — what an attack did to it.

Example:
    >>> RankGoal(np.array([3.0, 2.0, 1.0])).rank(2.5)
    2
    >>> AttackInput("1", "q", "d", "t", ["a", "d"], ["x", "t"], np.array([2.0, 1.0]), 1, 0).goal().rank(1.5)
    2
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from irrobust.errors import ConfigError, ModelError


@runtime_checkable
class Target(Protocol):
    """A ranking model under attack: ``score(query, texts)`` returns one score per text, higher is better.

    Example:
        >>> class Len:
        ...     def score(self, query, texts): return np.array([len(t) for t in texts], dtype=float)
        >>> isinstance(Len(), Target)
        True
    """

    def score(self, query: str, texts: list[str]) -> np.ndarray:
        """One score per text, higher is better (see the class example)."""
        ...


class CachedTarget:
    """Counts, caches and batches calls to a :class:`Target`.

    Args:
        target: the model (``score(query, texts)``).
        batch_size: at most this many texts per call to the model.
        cache_size: LRU capacity in (query, text) pairs; 0 disables the cache (every request is a call).

    Attributes:
        calls: (query, text) pairs sent to the model (cache misses) — the attack's target queries.
        requests: pairs requested by the attack (hits + misses).
        batches: calls to ``target.score``.

    Example:
        >>> class Len:
        ...     def score(self, query, texts): return np.array([len(t) for t in texts], dtype=float)
        >>> t = CachedTarget(Len())
        >>> t.score("q", ["ab", "abc", "ab"]).tolist(), t.calls, t.requests
        ([2.0, 3.0, 2.0], 2, 3)
        >>> _ = t.score("q", ["ab"]); t.calls
        2
    """

    def __init__(self, target: Any, batch_size: int = 64, cache_size: int = 200_000) -> None:
        if not callable(getattr(target, "score", None)):
            raise ModelError(f"a target needs a score(query, texts) method, got {type(target).__name__}")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be positive, got {batch_size}", where="CachedTarget")
        self.target, self.batch_size, self.cache_size = target, int(batch_size), int(cache_size)
        self._cache: OrderedDict[tuple[str, str], float] = OrderedDict()
        self.calls = self.requests = self.batches = 0

    def score(self, query: str, texts: list[str]) -> np.ndarray:
        """Scores of ``texts`` for ``query`` (float64), from the cache where possible.

        Example:
            >>> CachedTarget(type("T", (), {"score": lambda s, q, t: np.ones(len(t))})()).score("q", ["a"]).tolist()
            [1.0]
        """
        texts = list(texts)
        out = np.empty(len(texts), dtype=np.float64)
        self.requests += len(texts)
        todo: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            hit = self._cache.get((query, text)) if self.cache_size else None
            if hit is None:
                todo.setdefault(text, []).append(i)
            else:
                out[i] = hit
                self._cache.move_to_end((query, text))
        pending = list(todo) if self.cache_size else texts
        if not self.cache_size:
            todo = {}
        for s in range(0, len(pending), self.batch_size):
            chunk = pending[s : s + self.batch_size]
            scores = np.asarray(self.target.score(query, chunk), dtype=np.float64).reshape(-1)
            if len(scores) != len(chunk):
                raise ModelError(f"the target returned {len(scores)} scores for {len(chunk)} texts")
            self.batches += 1
            self.calls += len(chunk)
            for j, (text, value) in enumerate(zip(chunk, scores, strict=True)):
                if self.cache_size:
                    for i in todo[text]:
                        out[i] = value
                    self._cache[(query, text)] = float(value)
                else:
                    out[s + j] = value
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return out


class UncachedTarget(CachedTarget):
    """One model call per text, no cache: the naive baseline of the attack benchmark.

    Example:
        >>> t = UncachedTarget(type("T", (), {"score": lambda s, q, x: np.ones(len(x))})())
        >>> _ = t.score("q", ["a", "a"]); t.calls, t.batches
        (2, 2)
    """

    def __init__(self, target: Any) -> None:
        super().__init__(target, batch_size=1, cache_size=0)


@dataclass
class RankGoal:
    """The attack goal: rank of a document score among the other candidates' (fixed, clean) scores.

    ``rank(s) = 1 + #{others with score >= s}`` (ties count against the attacker). ``success_rank``: the
    goal "promote past rank K" (``None``: improve as far as possible; success = any improvement).

    Example:
        >>> g = RankGoal(np.array([5.0, 4.0, 3.0]), success_rank=2)
        >>> g.rank(4.0), g.rank(9.0), g.reached(2)
        (3, 1, True)
    """

    others: np.ndarray
    success_rank: int | None = None

    def __post_init__(self) -> None:
        self.others = np.sort(np.asarray(self.others, dtype=np.float64))

    def rank(self, score: float) -> int:
        """1-based rank of a document with ``score`` among the others.

        Example:
            >>> RankGoal(np.array([1.0])).rank(0.5)
            2
        """
        return 1 + int(len(self.others) - np.searchsorted(self.others, float(score), side="left"))

    def reached(self, rank: int) -> bool:
        """Whether ``rank`` meets ``success_rank`` (always False without one).

        Example:
            >>> RankGoal(np.array([1.0]), success_rank=1).reached(1)
            True
        """
        return self.success_rank is not None and rank <= self.success_rank


@dataclass
class AttackInput:
    """One target document to promote for one query, with its ranked list.

    ``list_texts`` / ``list_scores`` are the clean candidates of the list (the target included at
    ``target_index``), scored by the target model; ``seed`` seeds this document's randomness.

    Example:
        >>> AttackInput("1", "q", "d", "t", ["a", "d"], ["x", "t"], np.array([2.0, 1.0]), 1, 0).clean_score
        1.0
    """

    qid: str
    query: str
    docno: str
    text: str
    list_docnos: list[str]
    list_texts: list[str]
    list_scores: np.ndarray
    target_index: int
    seed: int
    success_rank: int | None = None

    @property
    def clean_score(self) -> float:
        """The target document's clean score (see the class example)."""
        return float(self.list_scores[self.target_index])

    def goal(self) -> RankGoal:
        """The rank goal over the other candidates' clean scores.

        Example:
            >>> AttackInput("1", "q", "d", "t", ["a", "d"], ["x", "t"], np.array([2.0, 1.0]), 1, 0).goal().rank(1.0)
            2
        """
        others = np.delete(np.asarray(self.list_scores, dtype=np.float64), self.target_index)
        return RankGoal(others, self.success_rank)


@dataclass
class AttackResult:
    """An attacked document and what the attack did.

    ``edits`` counts edited words (substituted or inserted); ``substitutions`` maps word index → new word
    for substitution attacks (empty for insertions); ``inserted`` is the inserted text (spamming).

    Example:
        >>> AttackResult("t", 5, 3, 0.1, 0.2, 1, 10).rank_after
        3
    """

    attacked: str
    rank_before: int
    rank_after: int
    score_before: float
    score_after: float
    edits: int
    n_words: int
    substitutions: dict[int, str] = field(default_factory=dict)
    inserted: str = ""
    tried: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict (word indices as strings).

        Example:
            >>> AttackResult("t", 5, 3, 0.1, 0.2, 1, 10, {2: "x"}).to_json()["substitutions"]
            {'2': 'x'}
        """
        return {"attacked": self.attacked, "rank_before": self.rank_before, "rank_after": self.rank_after,
                "score_before": self.score_before, "score_after": self.score_after, "edits": self.edits,
                "n_words": self.n_words, "substitutions": {str(k): v for k, v in self.substitutions.items()},
                "inserted": self.inserted, "tried": self.tried}  # fmt: skip
