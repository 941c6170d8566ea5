"""Term spamming (task 5 of Wu et al., "Are Neural Ranking Models Robust?", TOIS 2022): query-term stuffing
and sentence injection, with the word-substitution attacks' budget accounting (edits = inserted words,
perturbation share = inserted words / original words).

* :class:`QueryStuffing` — the "Query+" baseline of PRADA (Wu et al., TOIS 2023): the query's content words
  (stop words dropped, order of first appearance) are inserted, once and repeated up to the budget, at the
  start and at the end of the document; the variant with the best target rank is kept.
* :class:`SentenceInjection` — a sentence taken from a highly ranked document of the same list (the first
  ``sentences_per_doc`` sentences of each of the top ``source_top`` documents, cut to the word budget) is
  prepended; the best variant is kept.

Search: all variants are scored in one batched target call and the best strictly improving one is kept
(otherwise the document is unchanged, with 0 edits). Deviation: the papers do not specify positions or
sentence choice; these are ours.

Example:
    >>> stuffing_words("does vitamin D reduce the risk of fractures?")
    ['vitamin', 'reduce', 'risk', 'fractures']
"""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field

from irrobust.attacks.constraints import default_stopwords
from irrobust.attacks.goal import AttackInput, AttackResult, CachedTarget, RankGoal
from irrobust.attacks.recipe import AttackContext, Recipe, RecipeParams, register_attack
from irrobust.attacks.transformation import WordDoc

_SENT = re.compile(r"(?<=[.!?])\s+")
_TOKEN = re.compile(r"\w+")


def stuffing_words(query: str, stopwords: frozenset[str] | None = None) -> list[str]:
    """Content words of a query (lower-cased, stop words and 1-letter words dropped, first-appearance order).

    Example:
        >>> stuffing_words("The risk of the risk")
        ['risk']
    """
    stop = default_stopwords() if stopwords is None else stopwords
    out: list[str] = []
    for w in re.findall(r"[A-Za-z0-9][A-Za-z0-9-]*", query):
        low = w.lower()
        if low not in stop and len(low) > 1 and low not in out:
            out.append(low)
    return out


def cut_words(text: str, budget: int) -> str:
    """The longest whitespace-token prefix of ``text`` with at most ``budget`` ``\\w+`` words.

    Example:
        >>> cut_words("IL-6 rose sharply today.", 3)
        'IL-6 rose'
    """
    out: list[str] = []
    n = 0
    for tok in text.split():
        k = len(_TOKEN.findall(tok))
        if n + k > budget:
            break
        out.append(tok)
        n += k
    return " ".join(out)


def insertion_result(inp: AttackInput, variants: list[tuple[str, str]], target: CachedTarget) -> AttackResult:
    """Score ``(inserted text, attacked text)`` variants in one call; keep the best strictly improving one.

    Example:
        >>> insertion_result(inp, [("risk", "risk " + inp.text)], CachedTarget(target))   # doctest: +SKIP
    """
    doc = WordDoc(inp.text)
    goal: RankGoal = inp.goal()
    before = goal.rank(inp.clean_score)
    best = AttackResult(inp.text, before, before, inp.clean_score, inp.clean_score, 0, doc.n_words, {}, "", 0)
    variants = [(ins, text) for ins, text in variants if ins.strip()]
    if not variants:
        return best
    scores = target.score(inp.query, [t for _, t in variants])
    best.tried = len(variants)
    for (ins, text), s in zip(variants, scores, strict=True):
        r = goal.rank(float(s))
        if r < best.rank_after or (r == best.rank_after and best.inserted and float(s) > best.score_after):
            best.attacked, best.rank_after, best.score_after = text, r, float(s)
            best.inserted, best.edits = ins, len(_TOKEN.findall(ins))
    return best


class SpamParams(RecipeParams):
    """Term-spamming budget (``max_words`` inserted words).

    Example:
        >>> SpamParams().max_words
        10
    """


@register_attack
class QueryStuffing(Recipe):
    """Insert the query's content words at the start or end of the document (best variant kept).

    Example:
        >>> QueryStuffing.task
        'term-spamming'
    """

    name: ClassVar[str] = "query_stuffing"
    task: ClassVar[str] = "term-spamming"
    Params = SpamParams

    def attack(self, inp: AttackInput, target: CachedTarget, ctx: AttackContext) -> AttackResult:
        """Attack one document.

        Example:
            >>> QueryStuffing(max_words=5).attack(inp, CachedTarget(target), ctx).edits <= 5   # doctest: +SKIP
            True
        """
        doc = WordDoc(inp.text)
        budget = self.constraints().budget(doc.n_words)
        words = stuffing_words(inp.query, ctx.stopwords)
        variants: list[tuple[str, str]] = []
        if words:
            once = cut_words(" ".join(words), budget)
            full = cut_words(" ".join(words[i % len(words)] for i in range(budget)), budget)
            for ins in dict.fromkeys([once, full]):
                variants += [(ins, f"{ins} {inp.text}"), (ins, f"{inp.text} {ins}")]
        return insertion_result(inp, variants, target)


class InjectionParams(RecipeParams):
    """Sentence-injection parameters.

    Example:
        >>> InjectionParams().max_words
        20
    """

    max_words: int | None = Field(20, ge=1, description="edit budget in words (a sentence, cut to it)")
    source_top: int = Field(5, ge=1, description="take sentences from the top this many documents of the list")
    sentences_per_doc: int = Field(2, ge=1)


@register_attack
class SentenceInjection(Recipe):
    """Prepend a sentence from a highly ranked document of the same list (best variant kept).

    Example:
        >>> SentenceInjection().params.source_top
        5
    """

    name: ClassVar[str] = "sentence_injection"
    task: ClassVar[str] = "term-spamming"
    Params = InjectionParams

    def attack(self, inp: AttackInput, target: CachedTarget, ctx: AttackContext) -> AttackResult:
        """Attack one document.

        Example:
            >>> SentenceInjection().attack(inp, CachedTarget(target), ctx).inserted   # doctest: +SKIP
        """
        import numpy as np

        doc = WordDoc(inp.text)
        budget = self.constraints().budget(doc.n_words)
        order = [i for i in np.argsort(-np.asarray(inp.list_scores), kind="stable") if i != inp.target_index]
        variants: list[tuple[str, str]] = []
        for i in order[: self.params.source_top]:
            for sent in _SENT.split(inp.list_texts[i].strip())[: self.params.sentences_per_doc]:
                ins = cut_words(sent, budget)
                if ins and all(ins != v[0] for v in variants):
                    variants.append((ins, f"{ins} {inp.text}"))
        return insertion_result(inp, variants, target)
