"""Each shift makes the kind of change it promises, on real SciFact / NFCorpus queries."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from irrobust.data.synonyms import load_counterfitted
from irrobust.errors import IrrobustError
from irrobust.shifts import DropWords, Keywordize, Mixed, Reorder, Synonyms, Typos, change_summary, make_shift
from irrobust.shifts.base import n_to_pick
from irrobust.shifts.text import STOP_WORDS, is_stop_word, keyboard_neighbours, split_token, words
from irrobust.shifts.typos import typo_word


def osa_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance (Levenshtein + adjacent transposition), written for the tests."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def test_osa_distance_helper() -> None:
    assert osa_distance("cells", "cells") == 0
    assert osa_distance("cells", "clels") == 1
    assert osa_distance("cells", "cels") == 1
    assert osa_distance("cells", "cellss") == 1
    assert osa_distance("cells", "sells") == 1
    assert osa_distance("cells", "llecs") > 1


def is_subsequence(sub: list[str], full: list[str]) -> bool:
    it = iter(full)
    return all(any(x == y for y in it) for x in sub)


# --------------------------------------------------------------------------- typos


def test_typos_change_characters_not_words(all_queries: pd.DataFrame) -> None:
    shift = Typos(rate=0.25, seed=7)
    out = shift(all_queries)
    assert out["qid"].tolist() == all_queries["qid"].tolist()
    n_typo_words = 0
    for orig, new, changed in zip(all_queries["query"], out["query"], out["changed"], strict=True):
        o_tok, n_tok = orig.split(), new.split()
        assert len(o_tok) == len(n_tok)
        eligible = [t for t in o_tok if split_token(t)[1].isalpha() and len(split_token(t)[1]) >= 4]
        diffs = [(a, b) for a, b in zip(o_tok, n_tok, strict=True) if a != b]
        assert len(diffs) == n_to_pick(0.25, len(eligible))
        assert changed == bool(diffs)
        for a, b in diffs:
            pa, ca, sa = split_token(a)
            pb, cb, sb = split_token(b)
            assert (pa, sa) == (pb, sb), "punctuation around a word is never touched"
            assert ca.isalpha() and len(ca) >= 4
            assert osa_distance(ca, cb) == 1, (a, b)
            n_typo_words += 1
    assert n_typo_words > 300


@pytest.mark.parametrize("op", ["insert", "delete", "swap", "substitute"])
def test_each_typo_operation(op: str, scifact_queries: pd.DataFrame) -> None:
    out = Typos(rate=1.0, seed=3, ops=[op])(scifact_queries.head(60))
    seen = 0
    for orig, new in zip(scifact_queries["query"].head(60), out["query"], strict=True):
        for a, b in zip(orig.split(), new.split(), strict=True):
            if a == b:
                continue
            ca, cb = split_token(a)[1], split_token(b)[1]
            seen += 1
            if op == "insert":
                assert len(cb) == len(ca) + 1
            elif op == "delete":
                assert len(cb) == len(ca) - 1
            elif op == "swap":
                assert sorted(cb) == sorted(ca) and sum(x != y for x, y in zip(ca, cb, strict=True)) == 2
            else:
                pos = [i for i, (x, y) in enumerate(zip(ca, cb, strict=True)) if x != y]
                assert len(pos) == 1 and cb[pos[0]] in keyboard_neighbours(ca[pos[0]])
    assert seen > 100


def test_typo_word_always_differs() -> None:
    from irrobust.shifts.text import Rng

    for op in ("insert", "delete", "swap", "substitute"):
        for i, w in enumerate(["aaaa", "cell", "DNA", "Zika", "éclair"]):
            assert typo_word(w, op, Rng(op, i)) != w


def test_typos_leave_short_words_alone() -> None:
    res = Typos(rate=1.0).shift_query("is it a cat?", "x")
    assert res == res.__class__("is it a cat?", False, "no word of ≥ 4 letters")


# --------------------------------------------------------------------------- synonyms


def test_counterfitted_synonyms_come_from_the_table(all_queries: pd.DataFrame) -> None:
    table = load_counterfitted()
    out = Synonyms(source="counterfitted", rate=0.25, seed=1)(all_queries)
    swaps = 0
    for orig, new, changed in zip(all_queries["query"], out["query"], out["changed"], strict=True):
        o_tok, n_tok = orig.split(), new.split()
        assert len(o_tok) == len(n_tok)
        diffs = [(split_token(a), split_token(b)) for a, b in zip(o_tok, n_tok, strict=True) if a != b]
        assert changed == bool(diffs)
        for (pa, ca, sa), (pb, cb, sb) in diffs:
            assert (pa, sa) == (pb, sb)
            assert not is_stop_word(ca)
            assert cb.lower() in table[ca.lower()], (ca, cb)
            assert cb.lower() != ca.lower()
            swaps += 1
    assert swaps > 300
    assert out["changed"].mean() > 0.5


def test_synonyms_keep_capitalisation() -> None:
    res = Synonyms(source="counterfitted", rate=1.0, seed=0).shift_query("Risk of cancer", "1")
    first = res.query.split()[0]
    assert res.changed and first[0].isupper() and first.lower() in load_counterfitted()["risk"]


def test_synonyms_never_replace_stop_words() -> None:
    # every word here is a stop word that *has* neighbours in the counter-fitted table
    query = "all at about above"
    assert all(load_counterfitted().get(w) for w in query.split())
    res = Synonyms(source="counterfitted", rate=1.0).shift_query(query, "1")
    assert res.query == query and not res.changed and "no non-stop word" in res.fallback


# --------------------------------------------------------------------------- reorder


def test_reorder_keeps_the_words_and_changes_the_order(all_queries: pd.DataFrame) -> None:
    out = Reorder(seed=5)(all_queries)
    for orig, new, changed in zip(all_queries["query"], out["query"], out["changed"], strict=True):
        ow, nw = words(orig), words(new)
        assert Counter(ow) == Counter(nw)
        if len(set(ow)) >= 2:
            assert changed and nw != ow
        else:
            assert not changed and new == orig
        if orig.rstrip()[-1] in ".?!" and changed:
            assert new[-1] == orig.rstrip()[-1], "sentence-final punctuation stays at the end"


def test_reorder_guarantees_a_new_order_for_two_word_queries() -> None:
    queries = pd.DataFrame({"qid": [str(i) for i in range(200)], "query": ["caloric restriction"] * 200})
    assert (Reorder(seed=0)(queries)["query"] == "restriction caloric").all()
    assert Reorder().shift_query("cancer cancer", "1").fallback == "fewer than 2 distinct words"
    # punctuation-only tokens stay in place, so moving them cannot pass for a new order
    out = Reorder(seed=0)(pd.DataFrame({"qid": [str(i) for i in range(50)], "query": ["Meat & Myeloma"] * 50}))
    assert (out["query"] == "Myeloma & Meat").all() and out["changed"].all()


# --------------------------------------------------------------------------- drop


def test_drop_removes_words_and_keeps_a_content_word(all_queries: pd.DataFrame) -> None:
    out = DropWords(rate=0.3, seed=2)(all_queries)
    for orig, new, changed in zip(all_queries["query"], out["query"], out["changed"], strict=True):
        ow, nw = words(orig), words(new)
        assert nw and is_subsequence(nw, ow)
        if len(ow) >= 2:
            assert changed and len(nw) == len(ow) - min(len(ow) - 1, n_to_pick(0.3, len(ow)))
            if any(not is_stop_word(w) for w in ow):
                assert any(not is_stop_word(w) for w in nw)
        else:
            assert not changed and new == orig


def test_drop_never_drops_everything() -> None:
    shift = DropWords(rate=1.0)
    for qid, q in enumerate(["of the and", "Is it?", "what about vitamin D", "a b"]):
        res = shift.shift_query(q, qid)
        assert 1 <= len(words(res.query)) < len(words(q))
    assert words(shift.shift_query("what about vitamin", 0).query) == ["vitamin"]


# --------------------------------------------------------------------------- keywordize


def test_keywordize_example() -> None:
    assert Keywordize().shift_query("What is the effect of X on Y?").query == "effect X Y"


def test_keywordize_removes_stop_words(all_queries: pd.DataFrame) -> None:
    out = Keywordize()(all_queries)
    for orig, new, changed in zip(all_queries["query"], out["query"], out["changed"], strict=True):
        ow, nw = words(orig), words(new)
        has_stop = any(is_stop_word(w) for w in ow)
        all_stop = all(is_stop_word(w) for w in ow)
        if has_stop and not all_stop:
            assert changed
            assert not any(w.lower() in STOP_WORDS for w in nw)
            assert is_subsequence(
                [w.lower() for w in nw], [w.lower().removesuffix("'s").removesuffix("\u2019s") for w in ow]
            )
        else:
            assert not changed and new == orig
    # SciFact claims are sentences: nearly all lose stop words (NFCorpus has many keyword queries already)
    assert out.loc[out["qid"].str.startswith("sf-"), "changed"].mean() > 0.9


def test_keywordize_question_from_nfcorpus(nfcorpus_queries: pd.DataFrame) -> None:
    q = nfcorpus_queries.set_index("qid")["query"]
    assert q["PLAIN-2450"] == "Are Organic Foods Safer?"
    assert Keywordize().shift_query(q["PLAIN-2450"]).query == "Organic Foods Safer"


# --------------------------------------------------------------------------- mixed


def test_mixed_applies_several_shifts(scifact_queries: pd.DataFrame) -> None:
    out = Mixed([Keywordize(), Reorder()], seed=4)(scifact_queries)
    kw = Keywordize()(scifact_queries)
    for k, new in zip(kw["query"], out["query"], strict=True):
        assert Counter(words(new)) == Counter(words(k))
    assert out["shift"].unique().tolist() == ["mixed"]
    assert out["changed"].all()


def test_mixed_k_draws_steps_per_query(scifact_queries: pd.DataFrame) -> None:
    m = make_shift("mixed", shifts=["reorder", "keywordize", {"name": "typos", "rate": 1.0}], k=1, seed=0)
    out = m(scifact_queries)
    kinds = Counter()
    for orig, new in zip(scifact_queries["query"], out["query"], strict=True):
        ow, nw = words(orig), words(new)
        if len(nw) < len(ow):
            kinds["keywordize"] += 1
        elif Counter(nw) == Counter(ow):
            kinds["reorder"] += 1
        else:
            assert len(nw) == len(ow)
            kinds["typos"] += 1
    assert min(kinds.values()) > 50 and sum(kinds.values()) == len(out)


# --------------------------------------------------------------------------- common contract


ALL_SHIFTS = [
    Typos(),
    Synonyms(source="counterfitted"),
    Reorder(),
    DropWords(),
    Keywordize(),
    make_shift("mixed", shifts=["typos", {"name": "synonyms", "source": "counterfitted"}, "reorder", "drop"]),
]


@pytest.mark.parametrize("shift", ALL_SHIFTS, ids=lambda s: s.name)
def test_never_empty_and_qids_preserved(shift, all_queries: pd.DataFrame) -> None:
    odd = pd.DataFrame(
        {"qid": ["s1", "s2", "s3", "s4", "s5"], "query": ["the", "Is it?", "of the and to", "(?)", "DNA"]}
    )
    table = pd.concat([all_queries, odd], ignore_index=True)
    out = shift(table)
    assert out.columns.tolist() == ["qid", "query", "variant_of", "shift", "changed", "fallback"]
    assert out["qid"].tolist() == table["qid"].tolist()
    assert (out["variant_of"] == out["qid"]).all()
    assert (out["shift"] == shift.name).all()
    assert out["changed"].dtype == bool
    for orig, new, changed, fb in zip(table["query"], out["query"], out["changed"], out["fallback"], strict=True):
        assert new.strip(), "never an empty query"
        if words(orig):
            assert words(new)
        assert changed == (words(new) != words(orig))
        assert (fb == "") == changed
        if not changed:
            assert new == orig
    assert shift.n_changed() == int(out["changed"].sum()) == shift.last_stats.n_changed
    summary = change_summary(out)
    assert summary[["queries", "changed"]].values.tolist() == [[len(out), shift.n_changed()]]


def test_stop_word_only_query_falls_back() -> None:
    res = Keywordize().shift_query("What is it?", "1")
    assert (res.query, res.changed, res.fallback) == ("What is it?", False, "only stop words")


@pytest.mark.parametrize("bad", ["", "   "])
def test_empty_query_is_an_error(bad: str) -> None:
    with pytest.raises(IrrobustError, match="empty query"):
        Typos()(pd.DataFrame({"qid": ["q9"], "query": [bad]}))


def test_chained_shifts_keep_the_original_qid(scifact_queries: pd.DataFrame) -> None:
    out = (Keywordize() >> Typos(seed=1))(scifact_queries)
    assert (out["variant_of"] == scifact_queries["qid"]).all()
    assert (out["shift"] == "keywordize+typos").all()
    assert out["changed"].all()


def test_missing_query_column_is_a_clear_error() -> None:
    with pytest.raises(IrrobustError, match="lacks"):
        Typos()(pd.DataFrame({"qid": ["1"], "text": ["x"]}))
