"""Benchmark: irrobust's BM25 stage (direct Lucene path) vs pyserini's ``batch_search`` on the same index and queries.

All systems run in one process, interleaved over several rounds, so the ratios compare like with like on a
noisy machine; medians are reported. The irrobust stage searches Lucene's ``IndexSearcher`` directly
(``irrobust.index.lucene_direct``) and returns a ranked results table (qid, query, docno, score, rank); the
``direct=False`` stage is the pyserini path plus the table. Before timing, the script checks that the direct
path's rankings and scores equal pyserini's exactly. bm25s (its own index, no stemming) is shown for scale.

    .venv/bin/python scripts/bench/bench_bm25.py [--dataset beir/scifact/test] [--k 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import irrobust as ir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="beir/scifact/test")
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    ds = ir.dataset(args.dataset)
    index = ir.lucene_index(ds)
    stage = ir.BM25(index, k=args.k)
    pyserini_stage = ir.BM25(index, k=args.k, direct=False)
    searcher = index.searcher()
    searcher.set_bm25(0.9, 0.4)
    qids, texts = ds.queries.qid.tolist(), ds.queries["query"].tolist()

    def raw():
        return searcher.batch_search(texts, qids, k=args.k, threads=2)

    def raw_extract():
        hits = raw()
        return [(q, h.docid, h.score) for q, hs in hits.items() for h in hs]

    def ours():
        return stage(ds.queries)

    def ours_pyserini():
        return pyserini_stage(ds.queries)

    a, b = ours(), ours_pyserini()
    same_rank = a[["qid", "docno", "rank"]].equals(b[["qid", "docno", "rank"]])
    same_score = bool((a["score"].to_numpy() == b["score"].to_numpy()).all()) if len(a) == len(b) else False
    print(f"direct vs pyserini at k={args.k}: {len(a)} rows, identical rankings {same_rank}, identical scores {same_score}")
    if not (same_rank and same_score):
        raise SystemExit("the direct path differs from pyserini: not benchmarking")

    systems = {
        "pyserini batch_search": raw,
        "pyserini batch_search + extract": raw_extract,
        "irrobust BM25 stage, pyserini path": ours_pyserini,
        "irrobust BM25 stage (direct)": ours,
    }
    try:
        import bm25s

        docnos, corpus = zip(*ds.docs.iter(), strict=True)
        t0 = time.perf_counter()
        retriever = bm25s.BM25(k1=0.9, b=0.4)
        retriever.index(bm25s.tokenize(list(corpus), stopwords="en", show_progress=False), show_progress=False)
        bm25s_build = time.perf_counter() - t0

        def with_bm25s():
            toks = bm25s.tokenize(texts, stopwords="en", show_progress=False)
            return retriever.retrieve(toks, k=min(args.k, len(docnos)), show_progress=False, n_threads=2)

        systems["bm25s (own index, no stemming)"] = with_bm25s
    except ImportError:
        bm25s_build = None

    for fn in systems.values():  # warm-up: JVM, JIT, caches
        fn()
    times: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(args.rounds):
        for name, fn in systems.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)

    base = statistics.median(times["pyserini batch_search"])
    print(f"dataset={args.dataset} queries={len(qids)} k={args.k} rounds={args.rounds} (median seconds)")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:34s} {med:8.3f} s   {len(qids) / med:8.1f} q/s   ratio to batch_search {med / base:6.3f}")
    speedup = base / statistics.median(times["irrobust BM25 stage (direct)"])
    print(f"irrobust BM25 stage (direct) vs pyserini batch_search: {speedup:.1f}x faster (target >= 10x)")
    if bm25s_build is not None:
        print(f"  bm25s index build: {bm25s_build:.2f} s (not included above)")
    res = ours()
    print(f"irrobust BM25 nDCG@10 = {ir.evaluate_run(res, ds.qrels, ['nDCG@10'])['nDCG@10']:.4f}")


if __name__ == "__main__":
    main()
