"""Word-substitution ranking attacks (task 4) and term spamming (task 5) against any ranker.

Framework, one module per part (TextAttack's decomposition): :mod:`~irrobust.attacks.goal`,
:mod:`~irrobust.attacks.constraints`, :mod:`~irrobust.attacks.transformation` and
:mod:`~irrobust.attacks.search`; a counted, cached, batched :class:`~irrobust.attacks.goal.CachedTarget` over
any object with
``score(query, texts) -> np.ndarray``. Recipes, one module each: :mod:`~irrobust.attacks.prada` (PRADA),
:mod:`~irrobust.attacks.random_synonym`, :mod:`~irrobust.attacks.tfidf`, :mod:`~irrobust.attacks.gradient`
(HotFlip-style white box), :mod:`~irrobust.attacks.term_spamming` (query stuffing, sentence injection).

Example:
    >>> from irrobust.attacks import ATTACKS
    >>> sorted(ATTACKS)
    ['gradient', 'prada', 'query_stuffing', 'random', 'sentence_injection', 'tfidf']
"""

from __future__ import annotations

from irrobust.attacks.constraints import Constraints, check_attacked
from irrobust.attacks.goal import AttackInput, AttackResult, CachedTarget, RankGoal, Target, UncachedTarget
from irrobust.attacks.recipe import ATTACKS, AttackContext, Recipe, make_attack
from irrobust.attacks.transformation import SynonymSwap, WordDoc

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
