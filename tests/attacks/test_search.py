"""Speculative batched search gives exactly the edits of one-candidate-per-call search, on real documents."""

from __future__ import annotations

import pytest

from irrobust.attacks import AttackContext, CachedTarget, SynonymSwap, UncachedTarget, make_attack
from irrobust.attacks.victims import attack_target

from .conftest import make_input


@pytest.mark.parametrize("recipe", ["random", "tfidf"])
def test_batched_search_equals_sequential(recipe, bm25_lists, knrm_reranker, table):
    model = attack_target(knrm_reranker, threads=1)
    rec = make_attack(recipe, max_words=6, query_budget=40)
    changed = 0
    for lst in bm25_lists[:2]:
        scores = CachedTarget(model).score(lst["query"], lst["texts"])
        for rank in (52, 77, 99):
            inp = make_input(lst, scores, rank)
            fast, slow = CachedTarget(model, batch_size=64), UncachedTarget(model)
            a = rec.attack(inp, fast, AttackContext(SynonymSwap(table), batch_size=8))
            b = rec.attack(inp, slow, AttackContext(SynonymSwap(table), batch_size=1))
            assert (a.attacked, a.rank_after, a.substitutions) == (b.attacked, b.rank_after, b.substitutions)
            assert a.tried == b.tried <= 40 and slow.calls == b.tried
            assert fast.batches <= slow.batches
            changed += a.edits > 0
    assert changed > 0
