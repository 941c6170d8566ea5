"""TF-IDF word-importance substitution: the TF-IDF baseline of the PRADA paper (Wu et al., TOIS 2023, §2.3).

Word importance is ``tf(w, d) · idf(w)`` with tf the word's count in the document (lower-cased) and idf
Lucene's BM25 idf of the word's analysed term in the collection index (words the analyzer drops, or that
are absent from the index, get idf 0 and go last). Each
occurrence of the words, in importance order, is replaced by its *nearest* counter-fitted neighbour (the
first of the table's list), with PRADA's decision-based greedy check. Deviation: without an index (e.g. a
unit test), document frequencies are counted in the ranked list itself.

Example:
    >>> TFIDF(max_words=5).name
    'tfidf'
"""

from __future__ import annotations

import math
from collections import Counter
from typing import ClassVar

from irrobust.attacks.constraints import eligible_positions
from irrobust.attacks.goal import AttackInput, AttackResult, CachedTarget
from irrobust.attacks.recipe import (
    AttackContext,
    Recipe,
    SubstitutionParams,
    occurrences_in_order,
    register_attack,
    substitution_attack,
)
from irrobust.attacks.transformation import WordDoc


@register_attack
class TFIDF(Recipe):
    """TF-IDF importance, nearest table neighbour, greedy decision-based acceptance.

    Example:
        >>> TFIDF.task
        'ranking-attack'
    """

    name: ClassVar[str] = "tfidf"
    Params = SubstitutionParams

    def idf(self, words: list[str], inp: AttackInput, ctx: AttackContext) -> dict[str, float]:
        """idf of each word: Lucene BM25 idf from the index, else from the ranked list.

        Example:
            >>> TFIDF().idf(["risk"], inp, ctx)   # doctest: +SKIP
            {'risk': 4.2}
        """
        if ctx.index is not None:
            from irrobust.rankers.lucene_scoring import bm25_idf, shared_stats

            stats = shared_stats(ctx.index)
            out = {}
            for w, toks in zip(words, stats.analyze_many(words), strict=True):
                df = stats.df(toks[0]) if toks else 0
                out[w] = float(bm25_idf(df, stats.N)) if df > 0 else 0.0
            return out
        docs = [set(x.lower() for x in WordDoc(t).words) for t in inp.list_texts]
        n = len(docs)
        return {w: math.log(1.0 + (n - sum(w in d for d in docs) + 0.5) / (sum(w in d for d in docs) + 0.5))
                for w in words}  # fmt: skip

    def attack(self, inp: AttackInput, target: CachedTarget, ctx: AttackContext) -> AttackResult:
        """Attack one document.

        Example:
            >>> TFIDF().attack(inp, CachedTarget(target), ctx)   # doctest: +SKIP
        """
        doc = WordDoc(inp.text)
        positions = eligible_positions(doc, inp.query, self.constraints(), ctx.swap, ctx.stopwords)
        tf = Counter(doc.words[i].lower() for i in positions)
        words = sorted(tf)
        idf = self.idf(words, inp, ctx)
        order = sorted(words, key=lambda w: (-tf[w] * idf[w], w))
        cands = [(i, ctx.swap.candidates(doc.words[i])[0]) for i in occurrences_in_order(doc, order, positions)]
        return substitution_attack(inp, target, ctx, self.constraints(), cands, self.params.query_budget)
