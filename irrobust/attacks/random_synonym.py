"""Random synonym substitution: the random baseline of the PRADA paper (Wu et al., TOIS 2023, §2.3 baselines).

Eligible words (not protected, with table neighbours) are visited in a seeded random order, each with a
random neighbour from the counter-fitted table. Deviation: the paper's random baseline substitutes without
looking at the target; here every substitution goes through the same decision-based greedy check as PRADA
(kept only if the target rank improves), so the comparison isolates PRADA's importance and candidate choice.

Example:
    >>> RandomSynonym(max_words=5).params.max_words
    5
"""

from __future__ import annotations

from typing import ClassVar

from irrobust.attacks.constraints import eligible_positions
from irrobust.attacks.goal import AttackInput, AttackResult, CachedTarget
from irrobust.attacks.recipe import AttackContext, Recipe, SubstitutionParams, register_attack, substitution_attack
from irrobust.attacks.targets import rng_for
from irrobust.attacks.transformation import WordDoc


@register_attack
class RandomSynonym(Recipe):
    """Random positions and random table neighbours, greedy decision-based acceptance.

    Example:
        >>> RandomSynonym.name
        'random'
    """

    name: ClassVar[str] = "random"
    Params = SubstitutionParams

    def attack(self, inp: AttackInput, target: CachedTarget, ctx: AttackContext) -> AttackResult:
        """Attack one document (seeded by the input's seed, query and document).

        Example:
            >>> RandomSynonym().attack(inp, CachedTarget(target), ctx)   # doctest: +SKIP
        """
        doc = WordDoc(inp.text)
        positions = eligible_positions(doc, inp.query, self.constraints(), ctx.swap, ctx.stopwords)
        rng = rng_for(inp.seed, "random", inp.qid, inp.docno)
        order = [positions[i] for i in rng.permutation(len(positions))]
        cands = []
        for i in order:
            options = ctx.swap.candidates(doc.words[i])
            cands.append((i, options[int(rng.integers(len(options)))]))
        return substitution_attack(inp, target, ctx, self.constraints(), cands, self.params.query_budget)
