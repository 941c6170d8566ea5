"""PRADA: Practical Black-Box Adversarial Attacks against Neural Ranking Models (Wu, Zhang, Guo, de Rijke, Fan &
Cheng, TOIS 2023; arXiv 2204.01321), as a recipe.

Algorithm (the paper's steps, with ours where they differ):

0. **Surrogate**: a ranker trained only from the target's own ranked lists by pseudo relevance feedback
   (:func:`irrobust.attacks.surrogate.train_surrogate`), built once per attacked system by the task runner.
1. **Word importance**: the surrogate's loss ``L = Σ_j max(0, 1 − s(q,d) + s(q,d_j))`` over the other
   documents of the ranked list; the importance of a word piece is the L2 norm of the sum of ``∂L/∂E``
   over its occurrences (a row of the embedding-matrix gradient); a word's importance is the maximum over
   its pieces. The top ``m`` eligible words are attacked.
2. **PGD in embedding space** on the surrogate: ``pgd_iters`` steps ``E ← E − α·G/‖G‖_F`` on the rows of the
   document's pieces, no projection. Deviation: the step is *relative*, ``α = pgd_step · ‖E_doc‖_F``
   (the paper's α = 45 is for BERT-base's embedding scale; 1.5 × the document matrix norm is about the same
   relative size); the paper processes the list in batches of 20 and sums gradients, which equals one sum.
3. **Candidates**: the word's neighbours in the counter-fitted table (Alzantot et al. sets used by Jia et al.
   2019; the paper takes the 50 nearest counter-fitted vectors with cosine ≥ 0.7, which are not available
   here — the staged table has ≤ 8 neighbours per word).
4. **Candidate choice**: the neighbour whose (mean word-piece) input embedding has the highest cosine with the
   word's *perturbed* embedding (mean over its pieces and occurrences).
5. **Greedy decision-based check**: words in importance order, each occurrence in text order; substitute,
   query the target, keep only if the document's rank among the other documents' clean scores strictly
   improves; stop after the budget of accepted substitutions (the paper's m = 10 by default).
   Extra constraints (ours, configurable): stop words and query terms are protected, an optional MiniLM
   cosine floor, and a per-document query budget.

Example:
    >>> recipe = PRADA(max_words=10)                              # doctest: +SKIP
    >>> result = recipe.attack(inp, CachedTarget(target), ctx)    # doctest: +SKIP
"""

from __future__ import annotations

import bisect
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from irrobust.attacks.base import AttackInput, AttackResult, CachedTarget, WordDoc, eligible_positions
from irrobust.attacks.recipe import (
    AttackContext,
    Recipe,
    SubstitutionParams,
    occurrences_in_order,
    register_attack,
    substitution_attack,
)
from irrobust.errors import ConfigError


class PRADAParams(SubstitutionParams):
    """PRADA's parameters (``max_words`` is the paper's m: important words and accepted substitutions).

    Example:
        >>> PRADAParams().pgd_iters
        3
    """

    pgd_iters: int = Field(3, ge=0)
    pgd_step: float = Field(1.5, ge=0, description="PGD step relative to the document embeddings' Frobenius norm")


def token_words(doc: WordDoc, offsets: list[tuple[int, int]]) -> list[int]:
    """For each token (character offsets), the index of the word it falls in, or -1.

    Example:
        >>> token_words(WordDoc("ab cd"), [(0, 2), (3, 5), (2, 3)])
        [0, 1, -1]
    """
    starts = [s for s, _ in doc.spans]
    out = []
    for s, e in offsets:
        i = bisect.bisect_right(starts, s) - 1
        out.append(i if i >= 0 and e > s and s < doc.spans[i][1] else -1)
    return out


@register_attack
class PRADA(Recipe):
    """PRADA (Wu et al., TOIS 2023): surrogate-gradient importance, PGD-guided synonym choice, greedy check.

    See the module docstring for the steps and every deviation.

    Example:
        >>> PRADA().params.max_words
        10
    """

    name: ClassVar[str] = "prada"
    Params = PRADAParams
    needs_surrogate: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._others: dict[tuple[int, str, tuple[str, ...]], np.ndarray] = {}

    def _other_scores(self, sur: Any, inp: AttackInput) -> np.ndarray:
        key = (id(sur), inp.query, tuple(inp.list_docnos))
        scores = self._others.get(key)
        if scores is None:
            scores = sur.score(inp.query, inp.list_texts)
            self._others = {key: scores}  # one list at a time: targets of a query come together
        return np.delete(scores, inp.target_index)

    def plan(self, inp: AttackInput, ctx: AttackContext) -> list[tuple[int, str]]:
        """Candidate edits ``(word index, synonym)`` in PRADA's order (steps 1–4).

        Example:
            >>> PRADA().plan(inp, ctx)[:2]   # doctest: +SKIP
            [(12, 'hazard'), (40, 'hazard')]
        """
        import torch

        sur = ctx.surrogate
        if sur is None:
            raise ConfigError("PRADA needs a surrogate model (built by the attack task)", where="prada")
        p = self.params
        doc = WordDoc(inp.text)
        cons = self.constraints()
        positions = eligible_positions(doc, inp.query, cons, ctx.swap, ctx.stopwords)
        if not positions:
            return []
        others = self._other_scores(sur, inp)
        ids, offsets = sur.doc_tokens(inp.text)
        tw = token_words(doc, offsets)
        emb, grad, _ = sur.hinge_grad(inp.query, inp.text, others)
        ids_t = torch.tensor(ids)
        # importance of a piece id: L2 norm of the summed gradient rows of its occurrences
        piece_norm: dict[int, float] = {}
        for pid in set(ids):
            piece_norm[pid] = float(grad[ids_t == pid].sum(0).norm())
        eligible = {doc.words[i].lower() for i in positions}
        word_imp: dict[str, float] = {}
        word_rows: dict[str, list[int]] = {}
        for t, (pid, wi) in enumerate(zip(ids, tw, strict=True)):
            if wi < 0:
                continue
            w = doc.words[wi].lower()
            if w not in eligible:
                continue
            word_imp[w] = max(word_imp.get(w, 0.0), piece_norm[pid])
            word_rows.setdefault(w, []).append(t)
        order = sorted(word_imp, key=lambda w: (-word_imp[w], w))[: p.max_words or len(word_imp)]
        # PGD on the document's embedding rows
        pert = emb.clone()
        alpha = p.pgd_step * float(emb.norm())
        for _ in range(p.pgd_iters):
            _, g, _ = sur.hinge_grad(inp.query, inp.text, others, d_emb=pert)
            gn = float(g.norm())
            if gn == 0.0:
                break
            pert = pert - alpha * g / gn
        choice: dict[str, str] = {}
        for w in order:
            target_vec = pert[word_rows[w]].mean(0)
            cands = ctx.swap.candidates(w)
            vecs = torch.stack([sur.word_embedding(c) for c in cands])
            cos = torch.nn.functional.cosine_similarity(vecs, target_vec[None, :], dim=1)
            choice[w] = cands[int(torch.argmax(cos))]
        return [(i, choice[doc.words[i].lower()]) for i in occurrences_in_order(doc, order, positions)]

    def attack(self, inp: AttackInput, target: CachedTarget, ctx: AttackContext) -> AttackResult:
        """Promote ``inp``'s document against ``target`` (see the module docstring).

        Example:
            >>> PRADA().attack(inp, CachedTarget(target), ctx).rank_after <= inp.goal().rank(inp.clean_score)  # doctest: +SKIP
            True
        """
        return substitution_attack(inp, target, ctx, self.constraints(), self.plan(inp, ctx), self.params.query_budget)
