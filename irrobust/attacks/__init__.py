"""Word-substitution ranking attacks (task 4) and term spamming (task 5) against any ranker.

Framework (:mod:`irrobust.attacks.base`): goal + constraints + transformation + search, and a counted,
cached, batched :class:`~irrobust.attacks.base.CachedTarget` over any object with
``score(query, texts) -> np.ndarray``. Recipes, one module each: :mod:`~irrobust.attacks.prada` (PRADA),
:mod:`~irrobust.attacks.random_synonym`, :mod:`~irrobust.attacks.tfidf`, :mod:`~irrobust.attacks.gradient`
(HotFlip-style white box), :mod:`~irrobust.attacks.term_spamming` (query stuffing, sentence injection).

Example:
    >>> from irrobust.attacks import ATTACKS
    >>> sorted(ATTACKS)
    ['gradient', 'prada', 'query_stuffing', 'random', 'sentence_injection', 'tfidf']
"""

from __future__ import annotations

from irrobust.attacks import gradient, prada, random_synonym, term_spamming, tfidf  # noqa: F401  (register)
from irrobust.attacks.base import (
    AttackInput,
    AttackResult,
    CachedTarget,
    Constraints,
    RankGoal,
    SynonymSwap,
    Target,
    UncachedTarget,
    WordDoc,
    check_attacked,
)
from irrobust.attacks.recipe import ATTACKS, AttackContext, Recipe, make_attack

__all__ = [
    "ATTACKS",
    "AttackContext",
    "AttackInput",
    "AttackResult",
    "CachedTarget",
    "Constraints",
    "RankGoal",
    "Recipe",
    "SynonymSwap",
    "Target",
    "UncachedTarget",
    "WordDoc",
    "check_attacked",
    "make_attack",
]
