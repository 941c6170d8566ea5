"""Benchmark: PRADA against the cross-encoder, irrobust's batched + cached target vs one uncached call per candidate.

Both modes run the *same search* on the same target documents (easy + hard sets of the BM25 top-100 of a few
SciFact test queries, reranked by the cross-encoder) with the same surrogate (trained once, outside the timings):

* **irrobust** — one :class:`~irrobust.attacks.goal.CachedTarget` for the whole run: each query's ranked list is
  scored once (batched) and reused by all its target documents; the greedy search evaluates candidates in
  speculative chunks of ``--chunk`` texts per model call (accepted edits identical to one-at-a-time).
* **naive** — :class:`~irrobust.attacks.goal.UncachedTarget`: every text is one model call, nothing is cached,
  so each target document's attack scores its ranked list itself (100 calls) and then one call per candidate.

It prints both wall times, the ratio, the model calls of each, and whether the attacked documents are identical.
A second ratio covers the search alone (clean-list scoring excluded from both).

    .venv/bin/python scripts/bench/bench_attack.py --queries 2 --threads 1

Example:
    >>> main(["--queries", "1"])   # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a small report.

    Example:
        >>> main(["--queries", "1"])   # doctest: +SKIP
        0
    """
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queries", type=int, default=2, help="SciFact test queries (first by qid)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=8, help="candidates per speculative model call (irrobust mode)")
    ap.add_argument("--model", default=None, help="cross-encoder model name (default: irrobust's default)")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    import irrobust as ir
    from irrobust.attacks import AttackContext, AttackInput, CachedTarget, SynonymSwap, UncachedTarget, make_attack
    from irrobust.attacks.surrogate import train_surrogate
    from irrobust.attacks.targets import select_targets
    from irrobust.attacks.victims import attack_target
    from irrobust.data.synonyms import load_counterfitted
    from irrobust.rankers.cross_encoder import DEFAULT_NAME, CrossEncoderReranker

    ds = ir.dataset("beir/scifact/test")
    index = ir.lucene_index(ds.collection, progress=False)
    ce = CrossEncoderReranker.from_dataset("beir/scifact/train", name=args.model or DEFAULT_NAME, docs=ds.docs)
    model = attack_target(ce, threads=args.threads)
    queries = ds.queries.sort_values("qid").head(args.queries)
    run = ir.BM25(index, k=100)(queries)
    lists = []
    for qid, grp in run.groupby("qid", sort=True):
        grp = grp.sort_values("rank")
        lists.append({"qid": qid, "query": grp["query"].iloc[0], "docnos": grp["docno"].tolist(),
                      "texts": ds.docs.texts(grp["docno"].tolist())})  # fmt: skip
    # the surrogate is common to both modes (trained from the cross-encoder's ranking), outside the timings
    prep = CachedTarget(model)
    clean = [prep.score(x["query"], x["texts"]) for x in lists]
    t0 = time.perf_counter()
    sur = train_surrogate([(x["query"], x["texts"], s) for x, s in zip(lists, clean, strict=True)], seed=args.seed)
    sur_seconds = time.perf_counter() - t0
    swap = SynonymSwap(load_counterfitted())
    recipe = make_attack("prada", max_words=10, query_budget=50)

    def attack_all(target: CachedTarget, chunk: int, rescore_per_doc: bool) -> tuple[list[tuple[str, str]], float, float]:
        ctx = AttackContext(swap, batch_size=chunk, index=index, surrogate=sur)
        out, t_list = [], 0.0
        start = time.perf_counter()
        for x in lists:
            ranks = sorted({r for v in select_targets(len(x["texts"]), x["qid"], args.seed).values() for r in v})
            scores = None
            for r in ranks:
                if scores is None or rescore_per_doc:
                    t1 = time.perf_counter()
                    scores = target.score(x["query"], x["texts"])
                    t_list += time.perf_counter() - t1
                order = np.argsort(-scores, kind="stable")
                docnos = [x["docnos"][i] for i in order]
                texts = [x["texts"][i] for i in order]
                inp = AttackInput(x["qid"], x["query"], docnos[r - 1], texts[r - 1], docnos, texts, scores[order],
                                  r - 1, args.seed)  # fmt: skip
                out.append((inp.text, recipe.attack(inp, target, ctx).attacked))
        return out, time.perf_counter() - start, t_list

    fast = CachedTarget(model, batch_size=64)
    docs_fast, t_fast, list_fast = attack_all(fast, args.chunk, rescore_per_doc=False)
    naive = UncachedTarget(model)
    docs_naive, t_naive, list_naive = attack_all(naive, 1, rescore_per_doc=True)
    same = docs_fast == docs_naive
    changed = sum(orig != att for orig, att in docs_fast)
    print(f"PRADA vs cross-encoder ({ce.scorer.path.name}, {ce.scorer.precision}, max_length {ce.scorer.max_length}), "
          f"{len(lists)} queries, {len(docs_fast)} target documents, threads {args.threads}")  # fmt: skip
    print(f"surrogate training (common, excluded): {sur_seconds:.1f}s")
    print(f"irrobust (cached, chunk {args.chunk}): {t_fast:8.1f}s  model calls {fast.calls:6d} in {fast.batches} "
          f"batches (requests {fast.requests})")  # fmt: skip
    print(f"naive (uncached, 1 per call):  {t_naive:8.1f}s  model calls {naive.calls:6d}")
    print(f"wall-time ratio naive/irrobust: {t_naive / t_fast:.2f}x")
    print(f"search only (clean-list scoring excluded): {(t_naive - list_naive) / max(1e-9, t_fast - list_fast):.2f}x")
    print(f"same attacked documents: {same} ({sum(a == b for a, b in zip(docs_fast, docs_naive, strict=True))}/"
          f"{len(docs_fast)} identical; {changed} documents changed by the attack)")  # fmt: skip
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
