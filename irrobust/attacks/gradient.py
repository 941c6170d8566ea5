"""White-box gradient substitution, after HotFlip (Ebrahimi, Rao, Lowd & Dou, "HotFlip: White-Box Adversarial
Examples for Text Classification", ACL 2018), for differentiable targets.

HotFlip ranks token flips by the first-order estimate of the change of the objective,
``(e_new − e_old) · ∂f/∂e_old``, computed from one gradient. Here the objective is the target's score of
(query, document); for each eligible word (not protected, with table neighbours) and each of its
counter-fitted neighbours the estimated gain is ``Σ_pieces ∂s/∂e_p · (ē_new − e_p)`` over the word's word
pieces, with ``ē_new`` the mean piece embedding of the neighbour. The best neighbour per position is kept,
positions are tried in decreasing estimated gain, and each flip is kept only if the target rank improves
(the same greedy check as PRADA). Deviations from HotFlip: flips are restricted to table synonyms (not the
whole vocabulary, and no character flips); multi-piece words use mean embeddings; no beam search.

Differentiable targets: KNRM (:class:`~irrobust.rankers.knrm.KNRMScorer`, gradient of its score) and the
cross-encoder (:class:`~irrobust.attacks.surrogate.CrossEncoderWhiteBox`, gradient of the logit through the
input word embeddings). Other targets raise :class:`~irrobust.errors.ModelError` (the task runner records
them as not applicable).

Example:
    >>> Gradient(max_words=5).needs_whitebox
    True
"""

from __future__ import annotations

from typing import ClassVar

from irrobust.attacks.constraints import eligible_positions
from irrobust.attacks.goal import AttackInput, AttackResult, CachedTarget
from irrobust.attacks.prada import token_words
from irrobust.attacks.recipe import AttackContext, Recipe, SubstitutionParams, register_attack, substitution_attack
from irrobust.attacks.transformation import WordDoc
from irrobust.errors import ModelError


@register_attack
class Gradient(Recipe):
    """HotFlip-style first-order synonym flips on a differentiable (white-box) target.

    Example:
        >>> Gradient.name
        'gradient'
    """

    name: ClassVar[str] = "gradient"
    Params = SubstitutionParams
    needs_whitebox: ClassVar[bool] = True

    def plan(self, inp: AttackInput, ctx: AttackContext) -> list[tuple[int, str]]:
        """Candidate edits ordered by estimated score gain (best neighbour per position).

        Example:
            >>> Gradient().plan(inp, ctx)[:1]   # doctest: +SKIP
            [(7, 'hazard')]
        """
        import torch

        wb = ctx.whitebox
        if wb is None:
            raise ModelError("the gradient attack needs a differentiable target (KNRM, cross-encoder)",
                             where="gradient")  # fmt: skip
        doc = WordDoc(inp.text)
        positions = set(eligible_positions(doc, inp.query, self.constraints(), ctx.swap, ctx.stopwords))
        emb, grad = wb.score_grad(inp.query, inp.text)
        ids, offsets = wb.doc_tokens(inp.text, inp.query)  # a cross-encoder truncates with the query
        rows: dict[int, list[int]] = {}
        for t, wi in enumerate(token_words(doc, offsets)):
            if wi in positions:
                rows.setdefault(wi, []).append(t)
        scored = []
        cache: dict[str, torch.Tensor] = {}
        for wi, ts in rows.items():
            g, e = grad[ts], emb[ts]
            best, best_gain = None, None
            for c in ctx.swap.candidates(doc.words[wi]):
                if c not in cache:
                    cache[c] = wb.word_embedding(c)
                gain = float((g * (cache[c][None, :] - e)).sum())
                if best_gain is None or gain > best_gain:
                    best, best_gain = c, gain
            if best is not None:
                scored.append((-best_gain, wi, best))
        scored.sort()
        return [(wi, c) for _, wi, c in scored]

    def attack(self, inp: AttackInput, target: CachedTarget, ctx: AttackContext) -> AttackResult:
        """Attack one document.

        Example:
            >>> Gradient().attack(inp, CachedTarget(target), ctx)   # doctest: +SKIP
        """
        return substitution_attack(inp, target, ctx, self.constraints(), self.plan(inp, ctx), self.params.query_budget)
