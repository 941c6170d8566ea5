"""The search of a ranking attack: greedy, decision-based, with speculative batching.

Part of the goal + constraints + transformation + search decomposition (see :mod:`irrobust.attacks.goal`).
:func:`greedy_search` goes through candidate edits in a recipe's order and keeps one only if the target
rank strictly improves (PRADA's decision rule).

Example:
    >>> import numpy as np
    >>> class Count:
    ...     def score(self, q, texts): return np.array([t.count("b") for t in texts], dtype=float)
    >>> greedy_search(WordDoc("a a"), "q", [(0, "b")], CachedTarget(Count()), RankGoal(np.array([0.5])), 0.0,
    ...               budget=1, query_budget=5).rank
    1
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from irrobust.attacks.goal import CachedTarget, RankGoal
from irrobust.attacks.transformation import WordDoc


@dataclass
class SearchOutcome:
    """Result of a search: accepted edits, the final score and rank, and its target queries.

    ``tried``: candidates a one-at-a-time search would have sent to the target (the query budget counts
    these, so batching never changes the result); ``evaluated``: texts actually evaluated, speculative
    ones included.

    Example:
        >>> SearchOutcome({}, 0.5, 7, 3).evaluated
        0
    """

    edits: dict[int, str]
    score: float
    rank: int
    tried: int
    evaluated: int = 0


def greedy_search(doc: WordDoc, query: str, candidates: Sequence[tuple[int, str]], target: CachedTarget,
                  goal: RankGoal, clean_score: float, budget: int, query_budget: int, batch_size: int = 8,
                  accept: Callable[[str], bool] | None = None) -> SearchOutcome:  # fmt: skip
    """Greedy decision-based search: try candidate edits in order, keep one only if the rank strictly improves.

    ``candidates`` are ``(word index, new word)`` in the recipe's priority order; an index already
    edited is skipped. Stops after ``budget`` accepted edits, ``query_budget`` tried candidates, or
    when the goal's ``success_rank`` is reached. ``accept(text)`` is an extra check (e.g. a similarity
    floor) applied to an improving candidate before it is kept.

    Candidates are evaluated *speculatively* in chunks against the current document: the first improving
    one in a chunk is kept and the rest of the chunk is re-evaluated against the new document, so the
    accepted edits are exactly those of one-at-a-time evaluation, with fewer, larger model calls. The chunk
    starts at 1 candidate, doubles after every fully rejected chunk up to ``batch_size`` and falls back to 1
    after an acceptance, so runs of rejections are batched while little work is wasted after an
    acceptance. ``tried`` (and the query budget) counts what one-at-a-time evaluation would spend;
    ``evaluated`` the texts actually scored.

    Example:
        >>> import numpy as np
        >>> class Count:
        ...     def score(self, q, texts): return np.array([t.count("b") for t in texts], dtype=float)
        >>> out = greedy_search(WordDoc("a a a"), "q", [(0, "b"), (1, "c"), (2, "b")], CachedTarget(Count()),
        ...                     RankGoal(np.array([1.5, 0.5])), 0.0, budget=5, query_budget=10)
        >>> out.edits, out.rank
        ({0: 'b', 2: 'b'}, 1)
    """
    edits: dict[int, str] = {}
    best_score, best_rank = float(clean_score), goal.rank(clean_score)
    i, tried, evaluated, size = 0, 0, 0, 1
    n = len(candidates)
    while i < n and len(edits) < budget and tried < query_budget and not goal.reached(best_rank):
        chunk: list[tuple[int, int, str]] = []
        j = i
        while j < n and len(chunk) < min(size, batch_size, query_budget - tried):
            pos, word = candidates[j]
            if pos not in edits:
                chunk.append((j, pos, word))
            j += 1
        if not chunk:
            break
        texts = [doc.render({**edits, pos: word}) for _, pos, word in chunk]
        scores = target.score(query, texts)
        evaluated += len(chunk)
        nxt, size, used = j, size * 2, len(chunk)
        for k, ((idx, pos, word), text, s) in enumerate(zip(chunk, texts, scores, strict=True)):
            r = goal.rank(float(s))
            if r < best_rank and (accept is None or accept(text)):
                edits[pos] = word
                best_score, best_rank = float(s), r
                nxt, size, used = idx + 1, 1, k + 1
                break
        tried += used  # what one-at-a-time evaluation would have spent: the budget and the reported count
        i = nxt
    return SearchOutcome(edits, best_score, best_rank, tried, evaluated)
