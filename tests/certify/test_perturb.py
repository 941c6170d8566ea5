"""Perturbation sets on the real counter-fitted table and SciFact vocabulary."""

from __future__ import annotations

import numpy as np

from irrobust.certify.perturb import PerturbationSets, doc_rng


def test_sets_structure(sets):
    s = sets.summary()
    assert s["words"] > 5000 and s["graph"] == "mutual" and s["max_set"] == 100
    rng = np.random.default_rng(0)
    for i in rng.choice(len(sets.words), 300, replace=False):
        w = sets.words[i]
        t = sets.smoothing_set(w)
        assert w in t and len(t) <= sets.max_set
        for n in sets.synonyms(w):
            assert w in sets.synonyms(n)  # the graph is symmetric
            assert sets.component[sets.word_id(n)] == sets.component[i]
        q = sets.overlap(w)
        if sets.comp_size[i] <= sets.max_set:
            assert q == 1.0 and set(t) == {w} | {x for n in sets.synonyms(w) for x in sets.smoothing_set(n)}
        else:
            expect = min(len(set(t) & set(sets.smoothing_set(n))) / len(t) for n in sets.synonyms(w))
            assert q == expect and 0 < q <= 1


def test_union_graph_is_larger(scifact):
    from irrobust.certify.perturb import corpus_word_counts
    from irrobust.data.synonyms import load_counterfitted

    counts = corpus_word_counts(text for _, text in scifact.docs.iter())
    union = PerturbationSets(load_counterfitted(), counts, graph="union")
    mutual = PerturbationSets(load_counterfitted(), counts, graph="mutual")
    assert union.summary()["largest_component"] > mutual.summary()["largest_component"]


def test_neighbour_cut_shrinks_the_graph_and_the_bounds(scifact, sets):
    """Keeping each word's first k table neighbours: a subgraph, smaller components, fewer divided words, smaller δ_d."""
    from irrobust.certify.perturb import corpus_word_counts
    from irrobust.data.synonyms import load_counterfitted

    table = load_counterfitted()
    counts = corpus_word_counts(text for _, text in scifact.docs.iter())
    cut = PerturbationSets(table, counts, neighbours=5)
    assert cut.summary()["neighbours"] == 5 and "neighbours" not in sets.summary()
    assert cut.summary()["largest_component"] < sets.summary()["largest_component"]
    assert cut.summary()["divided_words"] < sets.summary()["divided_words"]
    rng = np.random.default_rng(1)
    for i in rng.choice(len(cut.words), 300, replace=False):
        w = cut.words[i]
        for n in cut.synonyms(w):  # every edge is a mutual edge of the full graph within both first-5 lists
            assert n in sets.synonyms(w) and n in table[w][:5] and w in table[n][:5]
    texts = scifact.docs.texts(sorted(scifact.qrels["docno"].unique())[:40])
    assert np.median([cut.delta(t) for t in texts]) < np.median([sets.delta(t) for t in texts])


def test_delta_and_sampling(sets, lists):
    _, _, _, texts, _ = lists[0]
    for text in texts[:4]:
        pos = sets.positions(text)
        d_all = sets.delta(pos)
        ds = [sets.delta(pos, r) for r in (0, 1, 5, 20)]
        assert ds[0] == 0.0 and all(a <= b + 1e-12 for a, b in zip(ds, ds[1:] + [d_all], strict=True))
        assert 0 <= d_all <= 1
        draws = sets.sample(pos, 16, doc_rng(7, "x"))
        assert (draws == sets.sample(pos, 16, doc_rng(7, "x"))).all()  # seeded
        for k, p in enumerate(pos.positions):
            assert set(draws[:, k]) <= set(sets.smoothing_ids(int(pos.word_ids[p])).tolist())
        copies = sets.materialise(pos, draws[:2])
        assert all(len(c.split()) == len(pos.tokens) for c in copies)
