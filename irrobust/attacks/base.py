"""The attack framework: goal + constraints + transformation + search, and the counted, cached target.

The decomposition follows TextAttack's (Morris et al., EMNLP 2020 demo) *design* — an attack is a goal
function, a list of constraints, a transformation and a search method — reimplemented here for
*ranking* attacks (Wu et al., "PRADA: Practical Black-Box Adversarial Attacks against Neural Ranking
Models", TOIS 2023): the goal is a rank, not a label.

* **Target** — anything with ``score(query, texts) -> np.ndarray`` (higher is better). :class:`CachedTarget`
  wraps one: it deduplicates, caches (query, text) scores, batches the misses and counts every pair sent
  to the model (the attack's *target queries*).
* **Goal** — :class:`RankGoal`: the rank of a (perturbed) document is its position among the *clean*
  scores of the other candidates of the ranked list (their scores are fixed, as in PRADA's evaluation);
  ties count against the attacker. ``success_rank`` (optional) is the "promote past rank K" goal.
* **Constraints** — :class:`Constraints`: a budget in words and/or a share of the words, synonym-only
  substitution from a neighbour table, protected stop words and query terms, and an optional MiniLM
  cosine floor. :func:`check_attacked` verifies an attacked document against them.
* **Transformation** — :class:`WordDoc` splits a text into substitutable words (ASCII letters) and the
  text between them, so an edit set ``{word index: new word}`` renders back to text with the rest
  untouched; substitutions keep the original capitalisation.
* **Search** — :func:`greedy_search`: go through candidate edits in a recipe's order and keep one only
  if the target rank strictly improves (PRADA's decision rule).

Example:
    >>> doc = WordDoc("Vitamin D lowers risk.")
    >>> doc.render({2: "reduces"})
    'Vitamin D reduces risk.'
    >>> RankGoal(np.array([3.0, 2.0, 1.0])).rank(2.5)
    2
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from irrobust.errors import ConfigError, ModelError

_WORD = re.compile(r"([A-Za-z]+)")
_ANYWORD = re.compile(r"\w+")


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
    return {w.lower() for w in _WORD.findall(query)}


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


class WordDoc:
    """A text split into substitutable words (runs of ASCII letters) and the text between them.

    ``n_words`` counts every ``\\w+`` token (numbers included): the denominator of the perturbation share.

    Example:
        >>> d = WordDoc("IL-6 levels rose.")
        >>> d.words, d.n_words
        (['IL', 'levels', 'rose'], 4)
        >>> WordDoc("rs2228145 allele").standalone
        [False, True]
        >>> d.render({0: "il", 2: "Increased"})
        'IL-6 levels increased.'
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.parts = _WORD.split(text)  # even: separators, odd: words
        self.words = self.parts[1::2]
        self.n_words = len(_ANYWORD.findall(text))
        spans, pos = [], 0
        for i, part in enumerate(self.parts):
            if i % 2:
                spans.append((pos, pos + len(part)))
            pos += len(part)
        self.spans: list[tuple[int, int]] = spans
        #: the word is a whole token (no letter, digit or "_" glued to it, unlike "rs" in "rs2228145")
        self.standalone: list[bool] = [(s == 0 or not _glued(text[s - 1])) and (e == len(text) or not _glued(text[e]))
                                       for s, e in spans]  # fmt: skip

    def render(self, edits: dict[int, str]) -> str:
        """The text with ``edits`` (word index → new word) applied, keeping each word's capitalisation.

        Example:
            >>> WordDoc("The Risk").render({1: "hazard"})
            'The Hazard'
        """
        if not edits:
            return self.text
        parts = list(self.parts)
        for i, new in edits.items():
            parts[2 * i + 1] = match_case(self.words[i], new)
        return "".join(parts)


def _glued(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def match_case(original: str, new: str) -> str:
    """``new`` with the capitalisation pattern of ``original`` (upper, title, or lower).

    Example:
        >>> match_case("DNA", "rna"), match_case("Risk", "hazard"), match_case("risk", "Hazard")
        ('RNA', 'Hazard', 'hazard')
    """
    from irrobust.shifts.text import match_case as shift_match_case

    return shift_match_case(original, new.lower())  # the query shifts' rule, on the lower-cased candidate


class SynonymSwap:
    """Transformation: replace a word by one of its neighbours in a synonym table (lower-cased lookup).

    Example:
        >>> SynonymSwap({"risk": ["hazard", "peril"]}).candidates("Risk")
        ['hazard', 'peril']
    """

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    def candidates(self, word: str) -> list[str]:
        """Neighbours of ``word`` (excluding itself), in table order (nearest first).

        Example:
            >>> SynonymSwap({"a": ["a", "b"]}).candidates("a")
            ['b']
        """
        low = word.lower()
        return [w for w in self.table.get(low, []) if w != low]


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
