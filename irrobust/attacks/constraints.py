"""The constraints of a ranking attack: budget, synonym-only substitution, protected words, similarity floor.

Part of the goal + constraints + transformation + search decomposition (see :mod:`irrobust.attacks.goal`).
:class:`Constraints`: a budget in words and/or a share of the words, synonym-only substitution from a
neighbour table, protected stop words and query terms, and an optional MiniLM cosine floor.
:func:`eligible_positions` applies them before the search (TextAttack's pre-transformation constraints);
:func:`check_attacked` verifies an attacked document against them afterwards.

Example:
    >>> Constraints(max_words=10, max_fraction=0.1).budget(50)
    5
    >>> eligible_positions(WordDoc("the risk rose"), "q", Constraints(), SynonymSwap({"risk": ["hazard"]}),
    ...                    frozenset({"the"}))
    [1]
"""

from __future__ import annotations

from dataclasses import dataclass

from irrobust.attacks.goal import AttackResult
from irrobust.attacks.transformation import WORD_PATTERN, SynonymSwap, WordDoc
from irrobust.errors import ConfigError


def default_stopwords() -> frozenset[str]:
    """The stop-word list protected by default (the one irrobust's query shifts use).

    Example:
        >>> "the" in default_stopwords()
        True
    """
    from irrobust.shifts.text import STOP_WORDS

    return STOP_WORDS


def query_words(query: str) -> set[str]:
    """Lower-cased words (ASCII letters) of a query: the terms protected when ``protect_query_terms``.

    Example:
        >>> sorted(query_words("Vitamin D-3 lowers risk"))
        ['d', 'lowers', 'risk', 'vitamin']
    """
    return {w.lower() for w in WORD_PATTERN.findall(query)}


@dataclass(frozen=True)
class Constraints:
    """What an attacked document must obey.

    Args:
        max_words: at most this many words edited (substituted or inserted); ``None`` = no word cap.
        max_fraction: at most this share of the document's words edited; ``None`` = no share cap.
        synonym_only: substitutions must come from the neighbour table (insertions are not allowed then).
        protect_stopwords: stop words are never substituted.
        protect_query_terms: words of the query are never substituted.
        min_similarity: MiniLM cosine of original and attacked document must stay >= this (``None``: off).
        min_word_length: words shorter than this are never substituted.

    Example:
        >>> Constraints(max_words=10, max_fraction=0.1).budget(50)
        5
    """

    max_words: int | None = 10
    max_fraction: float | None = None
    synonym_only: bool = True
    protect_stopwords: bool = True
    protect_query_terms: bool = True
    min_similarity: float | None = None
    min_word_length: int = 2

    def __post_init__(self) -> None:
        if self.max_words is None and self.max_fraction is None:
            raise ConfigError("an attack needs a budget: set max_words and/or max_fraction", where="constraints")
        if self.max_words is not None and self.max_words < 1:
            raise ConfigError(f"max_words must be positive, got {self.max_words}", where="constraints.max_words")
        if self.max_fraction is not None and not 0 < self.max_fraction <= 1:
            raise ConfigError(f"max_fraction must be in (0, 1], got {self.max_fraction}",
                              where="constraints.max_fraction")  # fmt: skip
        if self.min_similarity is not None and not -1 <= self.min_similarity <= 1:
            raise ConfigError(f"min_similarity must be in [-1, 1], got {self.min_similarity}",
                              where="constraints.min_similarity")  # fmt: skip

    def budget(self, n_words: int) -> int:
        """Edits allowed on a document of ``n_words`` words (at least 1 when a share cap rounds to 0).

        Example:
            >>> Constraints(max_words=None, max_fraction=0.05).budget(100)
            5
        """
        caps = []
        if self.max_words is not None:
            caps.append(self.max_words)
        if self.max_fraction is not None:
            caps.append(max(1, int(self.max_fraction * n_words)))
        return int(min(caps))

    def protected(self, word: str, query_terms: set[str], stopwords: frozenset[str]) -> bool:
        """Whether ``word`` may not be substituted.

        Example:
            >>> Constraints().protected("the", set(), frozenset({"the"}))
            True
        """
        low = word.lower()
        return (len(word) < self.min_word_length or (self.protect_stopwords and low in stopwords)
                or (self.protect_query_terms and low in query_terms))  # fmt: skip


def eligible_positions(doc: WordDoc, query: str, constraints: Constraints, swap: SynonymSwap,
                       stopwords: frozenset[str]) -> list[int]:  # fmt: skip
    """Word indices that may be substituted: whole tokens, not protected, with at least one table neighbour.

    Example:
        >>> eligible_positions(WordDoc("the risk rose"), "rose", Constraints(), SynonymSwap({"risk": ["hazard"]}),
        ...                    frozenset({"the"}))
        [1]
    """
    qterms = query_words(query)
    return [i for i, w in enumerate(doc.words)
            if doc.standalone[i] and not constraints.protected(w, qterms, stopwords) and swap.candidates(w)]  # fmt: skip


def check_attacked(original: str, result: AttackResult, query: str, constraints: Constraints,
                   table: dict[str, list[str]] | None, stopwords: frozenset[str] | None = None) -> list[str]:  # fmt: skip
    """Violations of ``constraints`` by an attacked document (empty list = it obeys them).

    For substitution attacks the attacked text is re-derived from the original and the recorded
    substitutions and compared, so nothing else may have changed; each substituted word must be a table
    neighbour of the original word (``synonym_only``), not protected, and the edit count within budget.

    Example:
        >>> r = AttackResult("the hazard", 2, 1, 0.0, 1.0, 1, 2, {1: "hazard"})
        >>> check_attacked("the risk", r, "q", Constraints(), {"risk": ["hazard"]}, frozenset({"the"}))
        []
    """
    stopwords = default_stopwords() if stopwords is None else stopwords
    doc = WordDoc(original)
    problems = []
    budget = constraints.budget(doc.n_words)
    if result.edits > budget:
        problems.append(f"{result.edits} edits exceed the budget of {budget}")
    if constraints.synonym_only:
        if result.inserted:
            problems.append("an insertion in a synonym-only attack")
        if result.edits != len(result.substitutions):
            problems.append(f"edit count {result.edits} != {len(result.substitutions)} substitutions")
        if doc.render(result.substitutions) != result.attacked:
            problems.append("the attacked text differs from the original beyond the recorded substitutions")
        qterms = query_words(query)
        for i, new in result.substitutions.items():
            if not 0 <= i < len(doc.words):
                problems.append(f"substitution at word {i} outside the document")
                continue
            old = doc.words[i]
            if not doc.standalone[i]:
                problems.append(f"substitution inside a token ({old!r} at word {i})")
            if new.lower() == old.lower():
                problems.append(f"word {i} ({old!r}) 'substituted' by itself")
            if table is not None and new.lower() not in table.get(old.lower(), []):
                problems.append(f"{new!r} is not a table neighbour of {old!r}")
            if constraints.protected(old, qterms, stopwords):
                problems.append(f"protected word {old!r} was substituted")
    return problems
