"""Soundness: an attack within budget R on a certified query never lifts a document below K past the top K
beyond the Monte Carlo error; and killed-and-resumed certification gives identical results."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from irrobust.certify.engine import CertifyConfig, CertifyQueries, certify_list, certify_lists
from irrobust.certify.perturb import split_token
from irrobust.certify.smoothing import LuceneSampleScorer, SmoothedRanker, Squash
from irrobust.core.store import UnitStore

# a real SciFact test query whose BM25 top-8 list the smoothed BM25 certifies at K = 1 for R = 1 (N = 1000)
QID = "1163"


@pytest.fixture(scope="module")
def bm25_list(scifact):
    import irrobust as ir

    q = scifact.queries[scifact.queries["qid"].astype(str) == QID]
    run = ir.BM25(ir.lucene_index(scifact.collection, progress=False), k=8)(q).sort_values("rank")
    docnos = run["docno"].astype(str).tolist()
    return {"qid": QID, "query": str(q["query"].iloc[0]), "docnos": docnos, "texts": scifact.docs.texts(docnos),
            "scores": run["score"].to_numpy(float)}  # fmt: skip


@pytest.fixture(scope="module")
def squash():
    import irrobust as ir
    from irrobust.certify.targets import calibration_scores
    from irrobust.core.scoring import ProtocolTarget
    from irrobust.index.lucene import lucene_index

    target = ProtocolTarget(ir.BM25(lucene_index("beir/scifact/train", progress=False), k1=0.9, b=0.4))
    return Squash.fit(calibration_scores(target, "beir/scifact/train", 20, 20, 42))


def _candidates(doc, sets, base, query):
    """(word index, synonym) edits of whole whitespace-token words (the threat model), best base-score gain first."""
    starts = set()
    pos = 0
    for tok in doc.text.split(" "):
        pre, core, _ = split_token(tok)
        starts.add((pos + len(pre), pos + len(pre) + len(core)))
        pos += len(tok) + 1
    edits = [(i, s) for i, w in enumerate(doc.words) if doc.spans[i] in starts for s in sets.synonyms(w)]
    gains = base.score(query, [doc.render({i: s}) for i, s in edits])
    order = np.argsort(-gains, kind="stable")
    return [edits[j] for j in order]


@pytest.mark.slow
def test_attack_cannot_break_a_certificate(sets, lucene, bm25_list, squash):
    from irrobust.attacks.goal import CachedTarget, RankGoal
    from irrobust.attacks.search import greedy_search
    from irrobust.attacks.transformation import WordDoc
    from irrobust.core.scoring import ProtocolTarget

    lst = bm25_list
    scorer = LuceneSampleScorer(lucene, squash)
    sm = SmoothedRanker(scorer, sets, n_samples=1000, seed=0)
    cfg = CertifyConfig(n_samples=1000, budgets=(1,), ks=(1,), rules=(("max", "bernstein"),))
    res = certify_list(sm, sets, cfg, lst["qid"], lst["query"], lst["docnos"], lst["texts"], lst["scores"])
    assert res["decisions"]["max/bernstein/R=1"]["1"], "precondition: the query is certified at K=1, R=1"
    g = np.array([d["g"] for d in res["docs"]])
    top = int(np.argmax(g))
    base = ProtocolTarget(lucene)  # Lucene's scores of the plain texts
    attacker = CachedTarget(SmoothedRanker(scorer, sets, n_samples=200, seed=5))
    judge = SmoothedRanker(scorer, sets, n_samples=4000, seed=9)  # independent, precise estimate of g(d')
    tol = math.sqrt(math.log(1 / 1e-3) / (2 * 1000)) + math.sqrt(math.log(1 / 1e-3) / (2 * 4000))
    lifted = 0
    for j, text in enumerate(lst["texts"]):
        if j == top:
            continue
        doc = WordDoc(text)
        cands = _candidates(doc, sets, base, lst["query"])[:24]
        others = np.delete(g, j)
        out = greedy_search(doc, lst["query"], cands, attacker, RankGoal(others, success_rank=1), float(g[j]),
                            budget=1, query_budget=len(cands))  # fmt: skip
        assert len(out.edits) <= 1
        attacked = doc.render(out.edits)
        g_att = float(judge.score(lst["query"], [attacked])[0])
        assert g_att < g[top] + tol  # never into the top 1 beyond the Monte Carlo error
        lifted += bool(out.edits)
    assert lifted >= 1  # the attack does find improving edits; they just cannot reach the top


def test_resume_after_kill_is_identical(sets, lucene, lists, tmp_path):
    cfg = CertifyConfig(n_samples=24, budgets=(None, 2), ks=(1, 3, 5))
    sm = SmoothedRanker(LuceneSampleScorer(lucene, Squash("logistic", 7.5, 1.8)), sets, n_samples=24, seed=4)
    data = [{"qid": q, "query": text, "docnos": d, "texts": t, "scores": s} for q, text, d, t, s in lists]

    full = certify_lists(sm, sets, cfg, data, UnitStore(tmp_path / "a"))

    class Killed(Exception):
        pass

    def kill(res):
        raise Killed  # the process dies right after the first query's checkpoint is written

    store = UnitStore(tmp_path / "b")
    with pytest.raises(Killed):
        certify_lists(sm, sets, cfg, data, store, hook=kill)
    assert len(list((tmp_path / "b").rglob("*.json"))) == 1
    fresh = SmoothedRanker(LuceneSampleScorer(lucene, Squash("logistic", 7.5, 1.8)), sets, n_samples=24, seed=4)
    computed = []
    resumed = certify_lists(fresh, fresh.sets, cfg, data, store, hook=computed.append)
    assert len(computed) == len(data) - 1  # only the missing queries are computed
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in full]
    assert json.dumps(strip, sort_keys=True) == json.dumps([{k: v for k, v in r.items() if k != "seconds"}
                                                           for r in resumed], sort_keys=True)  # fmt: skip
    # other settings or another configuration are other units: their checkpoints are not reused
    assert CertifyQueries(fresh, cfg, data, settings="other").units()[0].key not in store
    other = CertifyConfig(n_samples=25, budgets=(None, 2), ks=(1, 3, 5))
    assert CertifyQueries(fresh, other, data).units()[0].key not in store


@pytest.fixture(scope="module")
def sets5(scifact):
    """The 5-neighbour sets of ``pipelines/certify_scifact.yaml`` (δ_d small: decisions stay open for a while)."""
    from irrobust.certify.perturb import PerturbationSets

    return PerturbationSets.from_dataset(scifact, neighbours=5)


def test_adaptive_statistics_are_the_fixed_runs_prefixes_and_its_certificates_a_subset(sets5, lucene, lists):
    """What adaptive sampling guarantees (unlike "it never certifies what fixed N cannot", which fails whenever a
    document stops early on a lucky prefix): each document's ĝ is the mean of the first n of the *same* draws the
    fixed run uses; its certificates are reproduced from its recorded (ĝ, var, n, level); raising every level
    to α only adds certificates; and where every document reached N, the statistics are the fixed run's and the
    certificates a subset of the fixed run's (same samples, smaller levels)."""
    from irrobust.certify.certificate import certify_query

    n_max = 256
    sm = SmoothedRanker(LuceneSampleScorer(lucene, Squash("logistic", 7.5, 1.8)), sets5, n_samples=n_max, seed=4)
    rules = (("paper", "hoeffding"), ("max", "hoeffding"), ("max", "bernstein"))
    ks = (1, 2, 3, 5)
    fixed = CertifyConfig(n_samples=n_max, budgets=(None, 1), ks=ks, rules=rules)
    adaptive = CertifyConfig(n_samples=n_max, budgets=(None, 1), ks=ks, rules=rules, adaptive=True, n0=16,
                             per_document=False)  # fmt: skip
    assert sum(adaptive.levels()) == pytest.approx(adaptive.alpha)
    full_queries = early_queries = full_certified = 0
    for qid, query, docnos, texts, scores in lists:
        a = certify_list(sm, sets5, adaptive, qid, query, docnos, texts, scores)
        f = certify_list(sm, sets5, fixed, qid, query, docnos, texts, scores)
        assert a["samples"] <= f["samples"]
        g, var, n, level, exact = (np.array([d[x] for d in a["docs"]]) for x in ("g", "var", "n", "level", "exact"))
        for i, text in enumerate(texts):  # prefix consistency: the first n of the fixed run's draws
            prefix = sm.sample_scores(query, [text], 0, int(n[i]))[0]
            assert g[i] == pytest.approx(float(prefix.mean()), abs=1e-12)
        deltas = {r: np.array([d["delta"][r] for d in a["docs"]]) for r in ("all", "1")}
        for key, dec in a["decisions"].items():
            rule, bound, rlab = key.split("/")
            args = (g, deltas[rlab[2:]], n, var, ks, rule, bound)
            again = certify_query(*args, alpha=level, exact=exact)
            assert {str(k): v for k, v in again.items()} == dec  # reproduced from the recorded statistics
            at_alpha = certify_query(*args, alpha=adaptive.alpha, exact=exact)
            assert all(at_alpha[int(k)] for k, v in dec.items() if v)  # a larger level only adds certificates
        if (n[~exact] == n_max).all():
            full_queries += 1
            fg = np.array([d["g"] for d in f["docs"]])
            fv = np.array([d["var"] for d in f["docs"]])
            assert np.allclose(g, fg, rtol=0, atol=1e-12) and np.allclose(var, fv, rtol=0, atol=1e-12)
            for key, dec in a["decisions"].items():
                assert all(f["decisions"][key][k] for k, v in dec.items() if v), key
                full_certified += sum(f["decisions"][key].values())
        else:
            early_queries += 1
    assert full_queries and early_queries and full_certified  # both cases occur, and the subset check is not vacuous


def test_per_document_stopping_samples_only_blocking_documents(sets5, lucene, lists):
    """Per-document adaptive rounds (5-neighbour graph, where decisions stay open): fewer samples, and every
    document's bound uses the level of the last round it was sampled in."""
    sets = sets5
    sm = SmoothedRanker(LuceneSampleScorer(lucene, Squash("logistic", 7.5, 1.8)), sets, n_samples=256, seed=4)
    base = dict(n_samples=256, budgets=(None, 1), ks=(1, 2, 3), rules=(("max", "bernstein"),), adaptive=True, n0=16)
    per_query, per_doc = CertifyConfig(**base, per_document=False), CertifyConfig(**base)
    assert "per_document" not in per_query.as_dict() and per_doc.as_dict()["per_document"] is True
    saved = 0
    for qid, query, docnos, texts, scores in lists:
        q = certify_list(sm, sets, per_query, qid, query, docnos, texts, scores)
        d = certify_list(sm, sets, per_doc, qid, query, docnos, texts, scores)
        assert d["samples"] <= q["samples"]
        saved += q["samples"] - d["samples"]
        ns = {doc["n"] for doc in d["docs"] if not doc["exact"]}
        assert ns <= set(per_doc.schedule())
        levels = dict(zip(per_doc.schedule(), per_doc.levels(), strict=True))
        for doc in d["docs"]:
            if not doc["exact"]:
                assert doc["level"] == pytest.approx(levels[doc["n"]])  # the level of the last round it was in
    assert saved > 0


# a real SciFact test query whose BM25 top-8 list the smoothed BM25 certifies at K = 1, 2, 3 (and 5) for R = 2 and
# R = all on the 5-neighbour graph (N = 1000, max-bernstein; found by a scan of 30 queries)
QID_N5 = "1019"


@pytest.mark.slow
def test_prada_and_greedy_cannot_break_certificates_on_the_5_neighbour_graph(scifact, lucene, lists, squash):
    """PRADA (m = 10 words) and greedy substitution (budget R = 2) against the smoothed BM25, within the attacker's
    synonym sets S_w: for every K the query is certified at, no document from below K reaches the top K's smallest
    ĝ beyond the Monte Carlo error (judged with an independent N = 4000 estimate)."""
    import irrobust as ir
    from irrobust.attacks import AttackInput
    from irrobust.attacks.goal import CachedTarget, RankGoal
    from irrobust.attacks.recipe import AttackContext, make_attack
    from irrobust.attacks.search import greedy_search
    from irrobust.attacks.surrogate import train_surrogate
    from irrobust.attacks.transformation import SynonymSwap, WordDoc
    from irrobust.certify.perturb import PerturbationSets
    from irrobust.core.scoring import ProtocolTarget

    sets = PerturbationSets.from_dataset(scifact, neighbours=5)
    q = scifact.queries[scifact.queries["qid"].astype(str) == QID_N5]
    run = ir.BM25(ir.lucene_index(scifact.collection, progress=False), k=8)(q).sort_values("rank")
    docnos = run["docno"].astype(str).tolist()
    query, texts = str(q["query"].iloc[0]), scifact.docs.texts(docnos)
    scorer = LuceneSampleScorer(lucene, squash)
    cfg = CertifyConfig(n_samples=1000, budgets=(2, None), ks=(1, 2, 3, 5), rules=(("max", "bernstein"),))
    res = certify_list(SmoothedRanker(scorer, sets, n_samples=1000, seed=0), sets, cfg, QID_N5, query, docnos, texts,
                       run["score"].to_numpy(float))  # fmt: skip
    certified = {r: [int(k) for k, v in res["decisions"][f"max/bernstein/R={r}"].items() if v] for r in ("2", "all")}
    assert certified["2"] and certified["all"], "precondition: the query is certified at some K"
    g = np.array([d["g"] for d in res["docs"]])
    order = np.argsort(-g, kind="stable")
    attacker = CachedTarget(SmoothedRanker(scorer, sets, n_samples=200, seed=5))
    judge = SmoothedRanker(scorer, sets, n_samples=4000, seed=9)
    tol = math.sqrt(math.log(1 / 1e-3) / (2 * 1000)) + math.sqrt(math.log(1 / 1e-3) / (2 * 4000))
    swap = {w: list(sets.synonyms(w)) for w in sets.words if sets.synonyms(w)}  # the attacker's sets S_w
    base = ProtocolTarget(lucene)  # Lucene's scores of the plain texts
    surrogate = train_surrogate([(qq, tt, ss) for _, qq, _, tt, ss in lists] + [(query, texts, g)], seed=0, epochs=1)
    ctx = AttackContext(SynonymSwap(swap), surrogate=surrogate)
    prada = make_attack("prada", max_words=10, query_budget=40)
    changed = 0
    for budget, ks in (("2", certified["2"]), ("all", certified["all"])):
        k = max(ks)  # the largest certified K: every document below it is a candidate
        floor = float(g[order[:k]].min())
        for j in order[k:]:
            doc = WordDoc(texts[j])
            if budget == "2":
                cands = [c for c in _candidates(doc, sets, base, query) if c[1] in swap.get(doc.words[c[0]].lower(), [])]
                out = greedy_search(doc, query, cands[:24], attacker, RankGoal(np.delete(g, j), success_rank=k),
                                    float(g[j]), budget=2, query_budget=24)  # fmt: skip
                assert len(out.edits) <= 2
                attacked, edits = doc.render(out.edits), len(out.edits)
            else:
                ranked = [int(i) for i in order]
                inp = AttackInput(QID_N5, query, docnos[j], texts[j], [docnos[i] for i in ranked],
                                  [texts[i] for i in ranked], g[order], ranked.index(int(j)), seed=0, success_rank=k)  # fmt: skip
                out = prada.attack(inp, attacker, ctx)
                attacked, edits = out.attacked, out.edits
                for i, new in out.substitutions.items():  # within the attacker's synonym sets
                    assert new.lower() in swap[doc.words[i].lower()]
            g_att = float(judge.score(query, [attacked])[0])
            assert g_att < floor + tol, (budget, k, docnos[j])  # never into the top K beyond the Monte Carlo error
            changed += bool(edits)
    assert changed >= 1  # the attacks did change documents; the certificates held
