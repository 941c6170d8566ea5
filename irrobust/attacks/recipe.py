"""Recipe base class, the shared word-substitution driver, and the registry of attack recipes.

A recipe turns one :class:`~irrobust.attacks.goal.AttackInput` into an
:class:`~irrobust.attacks.goal.AttackResult`. Word-substitution recipes differ only in the *order* of
candidate edits (word importance) and the *candidate word* per position; they share
:func:`substitution_attack` (constraints + greedy decision-based search), so a comparison between them
isolates the importance and candidate choices.

Example:
    >>> sorted(ATTACKS) == sorted(["prada", "random", "tfidf", "gradient", "query_stuffing", "sentence_injection"])  # doctest: +SKIP
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from irrobust.attacks.constraints import Constraints, default_stopwords, eligible_positions
from irrobust.attacks.goal import AttackInput, AttackResult, CachedTarget
from irrobust.attacks.search import greedy_search
from irrobust.attacks.transformation import SynonymSwap, WordDoc
from irrobust.core.registry import Registry, shared_registry
from irrobust.errors import ConfigError


class RecipeParams(BaseModel):
    """Parameters shared by all recipes (strict: unknown keys are errors).

    Example:
        >>> RecipeParams().query_budget
        200
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_words: int | None = Field(10, ge=1, description="edit budget in words")
    max_fraction: float | None = Field(None, gt=0, le=1, description="edit budget as a share of the words")
    query_budget: int = Field(200, ge=1, description="target-model queries per document")
    success_rank: int | None = Field(None, ge=1, description="stop once the document reaches this rank")


class SubstitutionParams(RecipeParams):
    """Parameters of word-substitution recipes.

    Example:
        >>> SubstitutionParams().protect_query_terms
        True
    """

    protect_stopwords: bool = True
    protect_query_terms: bool = True
    min_similarity: float | None = Field(None, ge=-1, le=1, description="MiniLM cosine floor (None: off)")


@dataclass
class AttackContext:
    """What recipes may use besides the target: the synonym table, stop words, similarity, helpers.

    ``similarity(a, b)`` is the MiniLM cosine; ``index`` the collection's Lucene index (TF-IDF);
    ``whitebox`` an :class:`~irrobust.attacks.surrogate.EmbeddingModel` of the target when it is
    differentiable; ``surrogate`` PRADA's surrogate for the current system.

    Example:
        >>> AttackContext(SynonymSwap({})).batch_size
        8
    """

    swap: SynonymSwap
    stopwords: frozenset[str] = field(default_factory=default_stopwords)
    similarity: Callable[[str, str], float] | None = None
    batch_size: int = 8
    index: Any = None
    whitebox: Any = None
    surrogate: Any = None


class Recipe:
    """Base of attack recipes: ``attack(inp, target, ctx) -> AttackResult``.

    Subclasses set ``name``, ``task`` (``"ranking-attack"`` or ``"term-spamming"``), ``Params`` and
    implement :meth:`attack`.

    Example:
        >>> Recipe.task
        'ranking-attack'
    """

    name: ClassVar[str] = "recipe"
    task: ClassVar[str] = "ranking-attack"
    Params: ClassVar[type[RecipeParams]] = RecipeParams
    needs_whitebox: ClassVar[bool] = False
    needs_surrogate: ClassVar[bool] = False

    def __init__(self, **params: Any) -> None:
        self.params = self.Params(**params)

    def constraints(self) -> Constraints:
        """The recipe's constraints from its parameters.

        Example:
            >>> Recipe(max_words=3).constraints().max_words
            3
        """
        p = self.params
        sub = isinstance(p, SubstitutionParams)
        return Constraints(max_words=p.max_words, max_fraction=p.max_fraction, synonym_only=sub,
                           protect_stopwords=getattr(p, "protect_stopwords", True),
                           protect_query_terms=getattr(p, "protect_query_terms", True),
                           min_similarity=getattr(p, "min_similarity", None))  # fmt: skip

    def attack(self, inp: AttackInput, target: CachedTarget, ctx: AttackContext) -> AttackResult:
        """Attack one document (implemented by subclasses).

        Example:
            >>> make_attack("random").attack(inp, CachedTarget(target), ctx)   # doctest: +SKIP
        """
        raise NotImplementedError

    def spec(self) -> dict[str, Any]:
        """Name and parameters (for checkpoint hashes).

        Example:
            >>> Recipe(max_words=3).spec()["params"]["max_words"]
            3
        """
        return {"recipe": self.name, "params": self.params.model_dump(mode="json")}


def substitution_attack(inp: AttackInput, target: CachedTarget, ctx: AttackContext, constraints: Constraints,
                        candidates: Sequence[tuple[int, str]], query_budget: int) -> AttackResult:  # fmt: skip
    """Run the greedy decision-based search over ``candidates`` under ``constraints``.

    Candidates at protected positions or not in the table are dropped here (whatever the recipe proposed),
    so every recipe obeys the same constraints.

    Example:
        >>> substitution_attack(inp, target, ctx, Constraints(), [(3, "hazard")], 50)   # doctest: +SKIP
    """
    doc = WordDoc(inp.text)
    allowed = set(eligible_positions(doc, inp.query, constraints, ctx.swap, ctx.stopwords))
    cands = [(i, w.lower()) for i, w in candidates
             if i in allowed and w.lower() in ctx.swap.candidates(doc.words[i])]  # fmt: skip
    goal = inp.goal()
    accept = None
    if constraints.min_similarity is not None:
        if ctx.similarity is None:
            raise ConfigError("min_similarity needs a similarity model", where="constraints.min_similarity")
        floor = constraints.min_similarity

        def accept(text: str) -> bool:
            return ctx.similarity(inp.text, text) >= floor

    out = greedy_search(doc, inp.query, cands, target, goal, inp.clean_score, constraints.budget(doc.n_words),
                        query_budget, ctx.batch_size, accept)  # fmt: skip
    return AttackResult(doc.render(out.edits), goal.rank(inp.clean_score), out.rank, inp.clean_score, out.score,
                        len(out.edits), doc.n_words, dict(out.edits), "", out.tried)  # fmt: skip


def occurrences_in_order(doc: WordDoc, word_order: Sequence[str], positions: Sequence[int]) -> list[int]:
    """Positions (among ``positions``) grouped by word in ``word_order`` (lower-cased), each word's in text order.

    Example:
        >>> occurrences_in_order(WordDoc("b a b c"), ["b", "c"], [0, 1, 2, 3])
        [0, 2, 3]
    """
    by_word: dict[str, list[int]] = {}
    for i in positions:
        by_word.setdefault(doc.words[i].lower(), []).append(i)
    return [i for w in word_order for i in by_word.get(w, [])]


#: registered recipes by name; the built-ins register when their modules are imported (on first lookup)
ATTACKS: Registry[type[Recipe]] = shared_registry(
    "attack",
    builtins=(
        "irrobust.attacks.prada",
        "irrobust.attacks.random_synonym",
        "irrobust.attacks.tfidf",
        "irrobust.attacks.gradient",
        "irrobust.attacks.term_spamming",
    ),
)


def register_attack(cls: type[Recipe]) -> type[Recipe]:
    """Class decorator registering a recipe under ``cls.name``.

    Example:
        >>> @register_attack
        ... class _X(Recipe):
        ...     name = "_doc_x"
        >>> ATTACKS.unregister("_doc_x").__name__
        '_X'
    """
    return ATTACKS.register(cls.name, cls)


def make_attack(name: str, where: str = "attack", **params: Any) -> Recipe:
    """Instantiate a registered recipe, turning bad names/parameters into :class:`ConfigError`.

    Example:
        >>> make_attack("nope")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ConfigError: ...
    """
    cls = ATTACKS.get(name, where=where)
    from pydantic import ValidationError

    try:
        return cls(**params)
    except ValidationError as exc:
        msgs = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"bad parameters for attack {name!r}: {msgs}", where=where) from None
