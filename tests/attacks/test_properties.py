"""Property test on real SciFact documents: every attacked document obeys its constraints.

For every recipe, several budgets (words and shares), two targets (BM25 through Lucene's formula, KNRM) and
easy and hard target documents of three real queries: the edit budget holds, substitutions are synonym-only
(table neighbours of the replaced word, nothing else in the text changed), stop words and query terms are
untouched, and insertions (term spamming) stay within the word budget and leave the original text intact.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from irrobust.attacks import AttackContext, CachedTarget, SynonymSwap, WordDoc, check_attacked, make_attack
from irrobust.attacks.victims import attack_target, attack_white_box

from .conftest import make_input

BUDGETS = [{"max_words": 1}, {"max_words": 4}, {"max_words": None, "max_fraction": 0.02},
           {"max_words": 10, "max_fraction": 0.05}]


@pytest.fixture(scope="module")
def setup(bm25_lists, scifact_index, knrm_reranker, table):
    import irrobust as ir
    from irrobust.attacks.surrogate import train_surrogate

    targets = {"bm25": CachedTarget(attack_target(ir.BM25(scifact_index, k=100))),
               "knrm": CachedTarget(attack_target(knrm_reranker, threads=1))}
    scores = {name: [t.score(lst["query"], lst["texts"]) for lst in bm25_lists] for name, t in targets.items()}
    sur = train_surrogate([(lst["query"], lst["texts"], s) for lst, s in zip(bm25_lists, scores["knrm"], strict=True)],
                          seed=0, epochs=1)
    ctx = AttackContext(SynonymSwap(table), index=scifact_index, surrogate=sur,
                        whitebox=attack_white_box(knrm_reranker))
    return targets, scores, ctx


@pytest.mark.parametrize("recipe", ["prada", "random", "tfidf", "gradient"])
def test_substitution_attacks_obey_constraints(recipe, setup, bm25_lists, table):
    targets, scores, ctx = setup
    attacked = 0
    for budget in BUDGETS:
        rec = make_attack(recipe, query_budget=30, **budget)
        cons = rec.constraints()
        for name in ("bm25", "knrm"):
            for lst, sc in zip(bm25_lists, scores[name], strict=True):
                for rank in (55, 98):
                    inp = make_input(lst, sc, rank)
                    res = rec.attack(inp, targets[name], ctx)
                    assert check_attacked(inp.text, res, inp.query, cons, table) == [], (recipe, budget, name)
                    assert res.edits <= cons.budget(WordDoc(inp.text).n_words)
                    assert res.rank_after <= res.rank_before  # kept only if the rank improves
                    if res.edits:
                        assert res.rank_after < res.rank_before
                        attacked += 1
                    # the recorded rank is the real rank of the attacked text among the other clean scores
                    assert inp.goal().rank(targets[name].score(inp.query, [res.attacked])[0]) == res.rank_after
    assert attacked > 0  # the property is checked on documents that were actually changed


def test_protected_words_really_protected(setup, bm25_lists, table):
    """Query terms and stop words that have table neighbours are substitutable with protection off, never with it
    on (the default): not offered as positions, and never substituted by any recipe, which does substitute others."""
    from irrobust.attacks import Constraints
    from irrobust.attacks.constraints import eligible_positions

    targets, scores, ctx = setup
    offered_off = substituted = 0
    for lst, sc in zip(bm25_lists, scores["knrm"], strict=True):
        qwords = {w.lower() for w in re.findall(r"[A-Za-z]+", lst["query"])}
        for rank in (60, 99):
            inp = make_input(lst, sc, rank)
            doc = WordDoc(inp.text)

            def protected(i, doc=doc, qwords=qwords):
                return doc.words[i].lower() in qwords or doc.words[i].lower() in ctx.stopwords

            on = eligible_positions(doc, inp.query, Constraints(), ctx.swap, ctx.stopwords)
            off = eligible_positions(doc, inp.query, Constraints(protect_stopwords=False, protect_query_terms=False),
                                     ctx.swap, ctx.stopwords)  # fmt: skip
            assert not any(protected(i) for i in on)
            offered_off += sum(protected(i) for i in off)
            for recipe in ("random", "tfidf", "prada") if lst is bm25_lists[0] else ():
                res = make_attack(recipe, query_budget=40, max_words=10).attack(inp, targets["knrm"], ctx)
                assert not any(protected(i) for i in res.substitutions), recipe
                substituted += len(res.substitutions)
    assert offered_off > 0 and substituted > 0  # the filter has something to remove, and the attacks do edit


@pytest.mark.parametrize("recipe,budget", [("query_stuffing", 3), ("query_stuffing", 10), ("sentence_injection", 5),
                                           ("sentence_injection", 20)])
def test_spamming_obeys_budget(recipe, budget, setup, bm25_lists):
    targets, scores, ctx = setup
    rec = make_attack(recipe, max_words=budget)
    for name in ("bm25", "knrm"):
        for lst, sc in zip(bm25_lists, scores[name], strict=True):
            inp = make_input(lst, sc, 97)
            res = rec.attack(inp, targets[name], ctx)
            assert res.edits <= budget and res.edits == len(re.findall(r"\w+", res.inserted))
            assert check_attacked(inp.text, res, inp.query, rec.constraints(), None) == []
            if res.edits:
                assert res.attacked in (f"{res.inserted} {inp.text}", f"{inp.text} {res.inserted}")
                assert res.rank_after < res.rank_before
            else:
                assert res.attacked == inp.text


def test_check_attacked_catches_violations(bm25_lists, table):
    """The checker itself fails on real violations (so the properties above can fail)."""
    from irrobust.attacks import AttackResult, Constraints

    lst = bm25_lists[0]
    text = lst["texts"][60]
    doc = WordDoc(text)
    i = next(k for k, w in enumerate(doc.words) if w.lower() in table and table[w.lower()] and len(w) > 3
             and w.lower() not in {x.lower() for x in re.findall(r"[A-Za-z]+", lst["query"])})
    good = table[doc.words[i].lower()][0]
    ok = AttackResult(doc.render({i: good}), 60, 50, 0, 1, 1, doc.n_words, {i: good})
    assert check_attacked(text, ok, lst["query"], Constraints(), table) == []
    bad_word = AttackResult(doc.render({i: "zzzz"}), 60, 50, 0, 1, 1, doc.n_words, {i: "zzzz"})
    assert check_attacked(text, bad_word, lst["query"], Constraints(), table)
    sneaky = AttackResult(doc.render({i: good}) + " extra", 60, 50, 0, 1, 1, doc.n_words, {i: good})
    assert check_attacked(text, sneaky, lst["query"], Constraints(), table)
    over = AttackResult(ok.attacked, 60, 50, 0, 1, 2, doc.n_words, {i: good})
    assert check_attacked(text, over, lst["query"], Constraints(max_words=1), table)
    the = next(k for k, w in enumerate(doc.words) if w.lower() == "the")
    stop = AttackResult(doc.render({the: "a"}), 60, 50, 0, 1, 1, doc.n_words, {the: "a"})
    assert check_attacked(text, stop, lst["query"], Constraints(), {"the": ["a"]})
    assert np.isfinite(ok.score_after)
