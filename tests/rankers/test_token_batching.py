"""Token-budget batching sorted by length (issue 15, item 3) for KNRM scoring and the dense encoder, with the one
helper the cross-encoder uses (:func:`irrobust.util.batching.plan_batches`): scores in the caller's order, equal to the
unbatched path up to float rounding, and the CPU defaults bit-identical to the batches used before."""

from __future__ import annotations

import numpy as np
import pytest

from irrobust.rankers.knrm import KNRMConfig, KNRMScorer, train_knrm
from irrobust.rankers.training import NegativesConfig
from irrobust.util.batching import plan_batches


@pytest.fixture(scope="module")
def pairs(scifact_test):
    """Real SciFact (query, document) pairs of very different lengths: 12 test queries × their qrels' documents and
    the documents of other queries."""
    qrels = scifact_test.qrels.sort_values(["qid", "docno"])
    docnos = list(dict.fromkeys(qrels["docno"].astype(str)))[:20]
    texts = scifact_test.docs.texts(docnos)
    texts += [t[: 40 + 13 * i] for i, t in enumerate(texts[:6])]  # short prefixes: a wide spread of lengths
    queries = scifact_test.queries.sort_values("qid")["query"].astype(str).tolist()[:12]  # 312 pairs: 2 CPU batches
    return [q for q in queries for _ in texts], texts * len(queries)


@pytest.fixture(scope="module")
def knrm_tiny(tmp_path_factory, scifact_train):
    cfg = KNRMConfig(max_queries=20, epochs=1, batch_size=8, negatives=NegativesConfig(n_neg=2, depth=30), seed=2,
                     threads=1)  # fmt: skip
    return train_knrm(scifact_train, name="knrm-batching", config=cfg, progress=False, device="cpu",
                      directory=tmp_path_factory.mktemp("knrm") / "knrm-batching")  # fmt: skip


def test_one_batching_helper():
    """KNRM, the dense encoder and the cross-encoder scorer import the one helper (no second copy)."""
    import inspect

    import irrobust.index.dense as dense
    import irrobust.rankers.knrm as knrm
    import irrobust.rankers.scoring as scoring

    for module in (dense, knrm, scoring):
        assert module.plan_batches is plan_batches
        assert "argsort" not in inspect.getsource(module), module.__name__  # no private length sort left
    lengths = np.array([7, 300, 12, 300, 1, 45, 45])
    plan = plan_batches(lengths, token_budget=600, max_batch=3)
    assert sorted(np.concatenate(plan).tolist()) == list(range(7))
    assert [b.tolist() for b in plan] == [[1, 3], [5, 6, 2], [0, 4]]  # longest first, ties in input order
    assert [len(b) for b in plan_batches([320] * 600, 256 * 320, 256)] == [256, 256, 88]  # KNRM's CPU default


def test_knrm_token_budget_scores_in_order_and_equal_unbatched(knrm_tiny, pairs):
    queries, texts = pairs
    default = KNRMScorer(knrm_tiny, threads=1, device="cpu")
    assert default.batch_size == 256 and default.token_budget == 256 * default.dmax
    ref = default.score(queries, texts)
    # the CPU default forms exactly the batches KNRM used before (length-sorted chunks of 256): the same bits
    old = np.empty(len(texts), dtype=np.float32)
    dtok = default.encoder(texts, default.dmax)
    qtok = {q: default.encoder([q], default.qmax)[0] for q in set(queries)}
    import torch

    from irrobust.rankers.knrm_kernels import pad_ids

    order = np.argsort([-len(x) for x in dtok], kind="stable")
    with torch.inference_mode():
        for s in range(0, len(order), 256):
            b = order[s : s + 256]
            (q, qm), (d, dm) = pad_ids([qtok[queries[i]] for i in b]), pad_ids([dtok[i] for i in b])
            old[b] = default.model(q, qm, d, dm).float().numpy()
    assert np.array_equal(ref, old)
    # a small token budget: many batches of similar lengths, scores back in the caller's order
    small = KNRMScorer(knrm_tiny, threads=1, device="cpu", token_budget=600, batch_size=16)
    lengths = [len(x) for x in dtok]
    assert len(plan_batches(lengths, 600, 16)) > 8
    batched = small.score(queries, texts)
    one = KNRMScorer(knrm_tiny, threads=1, device="cpu", batch_size=1).score(queries, texts)  # unbatched
    assert np.abs(batched - one).max() < 1e-6 and np.abs(ref - one).max() < 1e-6
    perm = np.random.default_rng(0).permutation(len(texts))
    shuffled = small.score([queries[i] for i in perm], [texts[i] for i in perm])
    assert np.abs(shuffled - batched[perm]).max() < 1e-6


def test_dense_token_budget_in_order_and_cpu_default_unchanged(pairs):
    from irrobust.index.dense import DenseEncoder

    unique = list(dict.fromkeys(pairs[1]))
    texts = unique[:12] + unique[-6:]  # 12 abstracts and 6 short prefixes
    default = DenseEncoder(device="cpu")
    assert default.token_budget is None  # the CPU keeps sentence-transformers' batches
    ref = default.encode_docs(texts)
    direct = default.model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
                                  show_progress_bar=False)  # fmt: skip
    assert np.array_equal(ref, direct)  # bit-identical to the encoding of earlier versions
    budget = DenseEncoder(device="cpu", token_budget=700, max_batch=8)
    lengths = budget.token_lengths(texts)
    assert lengths.max() > 5 * lengths.min() and len(plan_batches(lengths, 700, 8)) >= 4
    batched = budget.encode_docs(texts)
    one = np.stack([default.encode_docs([t])[0] for t in texts])  # unbatched
    assert np.abs(batched - one).max() < 1e-6 and np.abs(ref - one).max() < 1e-6
    q = default.encode_queries(["vitamin D and bone fractures"])[0]
    assert np.array_equal(np.argsort(-(batched @ q)), np.argsort(-(one @ q)))  # the same ranking
    assert DenseEncoder(device="cpu", token_budget=700).fingerprint() == default.fingerprint()  # never in the index key
