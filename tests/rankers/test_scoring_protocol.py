"""The scoring protocol (irrobust.core.scoring): every ranker family answers it on real SciFact texts, composites
resolve to their scoring stage, certification and attacks follow the declared capabilities, and the task layers name
no ranker class."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from irrobust.core.scoring import ScoringCapabilities, TextScorer, scorer_of, scoring_stage
from irrobust.errors import ModelError

ROOT = Path(__file__).resolve().parents[2] / "irrobust"


@pytest.fixture(scope="module")
def index(scifact_test):
    import irrobust as ir

    return ir.lucene_index(scifact_test.collection, progress=False)


@pytest.fixture(scope="module")
def lists(scifact_test, index):
    """BM25 top-8 texts of two real SciFact test queries."""
    import irrobust as ir

    queries = scifact_test.queries.sort_values("qid").head(2)
    run = ir.BM25(index, k=8)(queries)
    return [(str(g["query"].iloc[0]), scifact_test.docs.texts(g["docno"].astype(str).tolist()))
            for _, g in run.groupby("qid", sort=True)]  # fmt: skip


@pytest.fixture(scope="module")
def knrm(scifact_test, small_knrm_dir):
    """The suite's small KNRM (tests/conftest.py)."""
    from irrobust.rankers.knrm import KNRMReranker

    return KNRMReranker(small_knrm_dir, docs=scifact_test.docs)


@pytest.fixture(scope="module")
def ce(scifact_test, small_ce_dir):
    """The suite's tiny cross-encoder (tests/conftest.py)."""
    from irrobust.rankers.cross_encoder import CrossEncoderReranker

    return CrossEncoderReranker(small_ce_dir, docs=scifact_test.docs, threads=1)


@pytest.mark.slow  # real models / a whole CLI run: ~30-120 s on one shared core
def test_every_family_answers_the_protocol(index, lists, knrm, ce):
    """score_texts of real texts; score_pairs over two queries equals per-query score_texts; declared capabilities."""
    import irrobust as ir

    rankers = {"bm25": ir.BM25(index, k=10), "ql": ir.QL(index, k=10), "knrm": knrm, "ce": ce}
    expected = {
        "bm25": ScoringCapabilities(fast_smoothing=True, kind="bm25"),
        "ql": ScoringCapabilities(fast_smoothing=True, kind="ql"),
        "knrm": ScoringCapabilities(differentiable=True, fast_smoothing=True, bounded="tanh", kind="knrm"),
        "ce": ScoringCapabilities(differentiable=True, bounded="identity", kind="cross-encoder"),
    }
    queries = [q for q, texts in lists for _ in texts]
    texts = [t for _, ts in lists for t in ts]
    for name, r in rankers.items():
        assert isinstance(r, TextScorer), name
        assert r.capabilities == expected[name], name
        per_query = np.concatenate([np.asarray(r.score_texts(q, ts), dtype=np.float64) for q, ts in lists])
        assert per_query.shape == (len(texts),) and np.isfinite(per_query).all() and np.std(per_query) > 0, name
        # one batched call: equal up to float32 rounding (padding to another batch width)
        assert np.allclose(r.score_pairs(queries, texts), per_query, rtol=0, atol=1e-6), name
        assert r.score_texts(lists[0][0], []).shape == (0,)
    rm3 = ir.RM3(index, k=10)
    assert not rm3.capabilities.scores_texts
    with pytest.raises(ModelError, match="RM3 expands"):
        scorer_of(rm3)
    # the white boxes of the differentiable ones: gradients of the document's pieces
    for r in (knrm, ce):
        emb, grad = r.white_box().score_grad(lists[0][0], lists[0][1][0])
        assert emb.shape == grad.shape and float(grad.norm()) > 0
    with pytest.raises(ModelError, match="not differentiable"):
        ir.BM25(index).white_box()


def test_composites_resolve_to_their_scoring_stage(index, knrm):
    import irrobust as ir

    bm25 = ir.BM25(index, k=10)
    assert scoring_stage(bm25 % 5 >> knrm) is knrm
    assert scoring_stage(bm25 % 5) is bm25  # a rank cutoff keeps the ranker's scores
    assert scorer_of((bm25 % 5 >> knrm) % 3) is knrm
    with pytest.raises(ModelError, match="not a ranker"):
        scorer_of(ir.rrf(bm25, ir.QL(index, k=10)))


def test_fast_smoothed_paths_equal_the_texts_they_stand_for(index, lists, knrm):
    """score_token_samples of random token-id copies equals score_texts of the materialised copies."""
    import irrobust as ir

    query, texts = lists[0]
    rng = np.random.default_rng(0)
    strings: list[str] = []
    ids: dict[str, int] = {}
    samples = []
    for text in texts[:3]:
        toks = text.split()[:60]
        base = [ids.setdefault(t, len(ids)) for t in toks]
        mat = np.array([base] * 4)
        for row in mat[1:]:  # copies: a few tokens replaced by tokens of another document
            pos = rng.choice(len(toks), size=5, replace=False)
            row[pos] = [ids.setdefault(t, len(ids)) for t in rng.choice(texts[4].split(), size=5)]
        samples.append(mat)
    strings = list(ids)
    for r, tol in ((ir.BM25(index), 1e-5), (knrm, 1e-5)):
        fast = r.score_token_samples(query, strings, samples)
        for mat, got in zip(samples, fast, strict=True):
            copies = [" ".join(strings[i] for i in row) for row in mat]
            assert np.allclose(got, np.asarray(r.score_texts(query, copies), dtype=np.float64), atol=tol)


class _Duck:
    """A user's ranker with no irrobust base class: three members are the whole protocol."""

    def __init__(self, bounded: str | None = None) -> None:
        self.capabilities = ScoringCapabilities(bounded=bounded, kind="duck")

    def score_texts(self, query, texts):
        q = set(query.lower().split())
        return np.array([len(q & set(t.lower().split())) / (1 + len(q)) for t in texts])

    def score_pairs(self, queries, texts):
        return np.concatenate([self.score_texts(q, [t]) for q, t in zip(queries, texts, strict=True)])


@pytest.mark.slow  # real models / a whole CLI run: ~30-120 s on one shared core
def test_tasks_follow_declared_capabilities(lists, knrm, ce, index):
    """Attacks and certification pick the sample scorer and squashing from the capabilities alone."""
    import irrobust as ir
    from irrobust.attacks.victims import attack_target, attack_white_box
    from irrobust.certify.smoothing import Squash, StageSampleScorer, TextSampleScorer
    from irrobust.certify.targets import smoothing_scorer

    query, texts = lists[0]
    duck = _Duck()
    assert np.array_equal(attack_target(duck).score(query, texts), duck.score_texts(query, texts))
    assert attack_white_box(duck) is None and attack_white_box(knrm) is not None
    sample, squash, kind = smoothing_scorer(_Duck("sigmoid"), "beir/scifact/train")
    assert isinstance(sample, TextSampleScorer) and squash == Squash("logistic", 0.0, 1.0) and kind == "duck"
    sample, squash, kind = smoothing_scorer(knrm, "beir/scifact/train")
    assert isinstance(sample, StageSampleScorer) and squash == Squash("tanh") and kind == "knrm"
    sample, squash, kind = smoothing_scorer(ir.BM25(index) % 5 >> ce, "beir/scifact/train")
    assert isinstance(sample, TextSampleScorer) and squash == Squash("identity") and kind == "cross-encoder"
    sample, squash, kind = smoothing_scorer(duck, "beir/scifact/train", n_queries=4, depth=5)
    assert isinstance(sample, TextSampleScorer) and squash.kind == "logistic" and kind == "duck"  # calibrated
    with pytest.raises(ModelError):
        ScoringCapabilities(bounded="softmax")


#: the modules that consume rankers: they may use the protocol only
CONSUMERS = ["attacks/victims.py", "certify/targets.py", "certify/smoothing.py", "certify/exact_bm25.py",
             "certify/exact_reindexed.py", "certify/engine.py", "attacks/attacker.py", "pipeline/workers.py",
             "pipeline/attack_task.py",
             "pipeline/certify_task.py"]  # fmt: skip
RANKER_CLASSES = {"BM25", "QL", "RM3", "LuceneRetriever", "DenseRetriever", "DenseReranker", "LTRReranker",
                  "CrossEncoderReranker", "KNRMReranker", "ScoringReranker", "TrainedReranker", "FunctionRanker",
                  "LuceneScorer", "KNRMScorer", "CrossEncoderScorer"}  # fmt: skip


@pytest.mark.parametrize("rel", CONSUMERS + sorted(str(p.relative_to(ROOT)) for p in (ROOT / "shifts").glob("*.py")))
def test_consumers_use_the_protocol_only(rel):
    """No isinstance over ranker classes and no private-method calls on rankers in the modules that consume them."""
    tree = ast.parse((ROOT / rel).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance":
            names = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)} | {
                n.attr for n in ast.walk(node.args[1]) if isinstance(n, ast.Attribute)}  # fmt: skip
            assert not names & RANKER_CLASSES, f"{rel}:{node.lineno} dispatches on ranker classes {names}"
        if isinstance(node, ast.Attribute) and node.attr in ("_score", "_resolve"):
            owner = node.value
            assert isinstance(owner, ast.Name) and owner.id == "self", f"{rel}:{node.lineno} calls {node.attr}"
