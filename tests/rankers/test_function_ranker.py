"""``ir.FunctionRanker(fn)``: a Python function as a reranking stage behind BM25 on real SciFact queries, attacked
and certified through the scoring protocol; a misbehaving function is a located error."""

from __future__ import annotations

import subprocess
import sys

import pytest

from irrobust.errors import ModelError


def overlap(query, texts):
    """Query words found in the text (a user's scoring function)."""
    q = set(query.lower().split())
    return [len(q & set(t.lower().split())) for t in texts]


@pytest.fixture(scope="module")
def system(scifact_test):
    import irrobust as ir

    index = ir.lucene_index(scifact_test.collection, progress=False)
    return ir.BM25(index, k=20) >> ir.FunctionRanker(overlap, docs=scifact_test.docs)


@pytest.fixture(scope="module")
def run(system, scifact_test):
    return system(scifact_test.queries.sort_values("qid").head(3))


def test_bm25_then_function_reranks_real_queries(run, scifact_test):
    assert run["qid"].nunique() == 3 and len(run) == 60
    texts = scifact_test.docs.texts(run["docno"].astype(str).tolist())
    expected = [overlap(q, [t])[0] for q, t in zip(run["query"], texts, strict=True)]
    assert run["score"].tolist() == expected
    for _, grp in run.groupby("qid"):
        assert grp.sort_values("rank")["score"].is_monotonic_decreasing and grp["score"].nunique() > 1


@pytest.mark.slow  # real models / a whole CLI run: ~30-120 s on one shared core
def test_function_ranker_is_attacked_and_certified(run, system, scifact_test):
    """Black-box attacks and CertDR reach the function through the protocol alone (no irrobust code for it)."""
    from irrobust.attacks import AttackContext, AttackInput, CachedTarget, SynonymSwap, make_attack
    from irrobust.attacks.victims import attack_target, attack_white_box
    from irrobust.certify.engine import CertifyConfig, certify_list
    from irrobust.certify.perturb import PerturbationSets
    from irrobust.certify.smoothing import SmoothedRanker, TextSampleScorer
    from irrobust.certify.targets import smoothing_scorer
    from irrobust.data.synonyms import load_counterfitted

    target = CachedTarget(attack_target(system))
    assert attack_white_box(system) is None  # a black box: white-box attacks are skipped for it
    stuffing, swap = make_attack("query_stuffing", max_words=3), make_attack("random", max_words=3, query_budget=10)
    ctx = AttackContext(SynonymSwap(load_counterfitted()))
    sets = PerturbationSets.from_dataset(scifact_test)
    scorer, squash, kind = smoothing_scorer(system, "beir/scifact/train", n_queries=4, depth=5)
    assert isinstance(scorer, TextSampleScorer) and squash.kind == "logistic" and kind == "function"
    cfg = CertifyConfig(n_samples=16, budgets=(None, 1), ks=(1, 3), rules=(("max", "hoeffding"),))
    for qid, grp in list(run.groupby("qid", sort=True))[:2]:
        grp = grp.sort_values("rank")
        query, docnos = str(grp["query"].iloc[0]), grp["docno"].astype(str).tolist()
        texts = scifact_test.docs.texts(docnos)
        scores = target.score(query, texts)
        assert scores.tolist() == grp["score"].tolist()  # the target scores the texts as the stage ranked them
        last = len(docnos) - 1
        inp = AttackInput(str(qid), query, docnos[last], texts[last], docnos, texts, scores, last, 0)
        stuffed = stuffing.attack(inp, target, ctx)
        assert stuffed.rank_after < stuffed.rank_before  # stuffing query words lifts an overlap ranker
        swapped = swap.attack(inp, target, ctx)
        assert 1 <= swapped.rank_after <= swapped.rank_before and swapped.tried <= 10
        res = certify_list(SmoothedRanker(scorer, sets, n_samples=16, seed=0), sets, cfg, str(qid), query,
                           docnos[:6], texts[:6], scores[:6])  # fmt: skip
        assert sorted(res["decisions"]) == ["max/hoeffding/R=1", "max/hoeffding/R=all"]
        assert all(0.0 <= d["g"] <= 1.0 for d in res["docs"]) and len(res["docs"]) == 6


def test_declared_bounded_scores_skip_calibration():
    import irrobust as ir
    from irrobust.certify.smoothing import Squash
    from irrobust.certify.targets import smoothing_scorer

    fr = ir.FunctionRanker(lambda q, ts: [0.5] * len(ts), bounded="identity")
    _, squash, _ = smoothing_scorer(fr, train_dataset=None)  # no training data needed: nothing is fitted
    assert squash == Squash("identity")
    assert fr.spec() == {"type": "FunctionRanker", "function": f"{__name__}.test_declared_bounded_scores_skip_"
                         "calibration.<locals>.<lambda>", "bounded": "identity"}  # fmt: skip


@pytest.mark.parametrize("fn, message", [
    (lambda q, ts: [1.0], "returned 1 scores for 2 texts"),
    (lambda q, ts: [float("nan")] * len(ts), "NaN or infinite"),
    (lambda q, ts: ["high"] * len(ts), "must return numbers"),
    (lambda q, ts: 1 / 0, "raised ZeroDivisionError"),
])  # fmt: skip
def test_misbehaving_functions_are_located_errors(fn, message):
    import irrobust as ir

    with pytest.raises(ModelError, match=message) as err:
        ir.FunctionRanker(fn).score_texts("q", ["a", "b"])
    assert err.value.where.endswith("<lambda>")
    with pytest.raises(ModelError, match="needs a callable"):
        ir.FunctionRanker("overlap")


def test_lazy_export():
    """``ir.FunctionRanker`` loads neither torch nor the JVM."""
    code = ("import sys, irrobust as ir; ir.FunctionRanker; "
            "print(sorted(m for m in ('torch', 'jnius', 'pyserini') if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr[-2000:]
