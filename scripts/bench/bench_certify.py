"""Benchmark: CertDR certification on SciFact, (a) batched smoothed scoring vs materialising copies, (b) adaptive vs fixed N.

(a) **Batched vs naive** (same seed, same draws, same certificates expected). For the BM25 top-``--depth`` lists
of ``--queries`` SciFact test queries, the smoothed ranker's N Monte Carlo copies of every document are scored

* **irrobust** — :class:`~irrobust.certify.smoothing.KNRMSampleScorer` / ``LuceneSampleScorer``: copies stay
  matrices of token-string ids; each distinct token string is tokenised/analysed once and a copy's score is a
  sparse count × table product (exact up to float rounding);
* **naive** — every copy materialised as text and scored by the base scorer (``KNRMScorer.score`` /
  ``LuceneScorer.score_texts``) in fixed-size batches of ``--batch`` texts, in the original order.

Both feed the same certificate code; the script prints both wall times, the ratio, max |Δĝ| and whether every
certificate decision (all K, R, rules) is identical.

(b) **Adaptive vs fixed N** with irrobust's scorer: fixed N = ``--samples`` at level α against the adaptive schedule
n₀, 2n₀, … up to N at α / J; prints CRQ@10 per budget R for both and the mean samples per document.

    .venv/bin/python scripts/bench/bench_certify.py --ranker knrm --queries 3 --depth 20 --samples 100 --threads 1

Example:
    >>> main(["--queries", "1"])   # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

import numpy as np


class NaiveScorer:
    """Materialise every copy and score it with ``score(query, texts)`` in fixed-size batches, in order."""

    def __init__(self, scorer: Any, squash: Any, batch: int) -> None:
        self.scorer, self.squash, self.batch = scorer, squash, int(batch)

    def score_samples(self, query: str, pool: Any, samples: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Bounded scores of every copy (rows of each matrix)."""
        out = []
        for mat in samples:
            texts = [" ".join(pool.strings[i] for i in row) for row in mat]
            raw = np.concatenate([np.asarray(self.scorer.score(query, texts[s : s + self.batch]), dtype=np.float64)
                                  for s in range(0, len(texts), self.batch)]) if texts else np.zeros(0)  # fmt: skip
            out.append(self.squash(raw))
        return out


class _LuceneTexts:
    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer

    def score(self, query: str, texts: list[str]) -> np.ndarray:
        return self.scorer.score_texts(query, texts)


def _crq10(results: list[dict[str, Any]]) -> dict[str, float]:
    from irrobust.certify.certificate import crq

    out = {}
    for key in results[0]["decisions"]:
        k = max(int(x) for x in results[0]["decisions"][key] if int(x) <= 10)
        dec = [{int(kk): v for kk, v in r["decisions"][key].items()} for r in results]
        out[key] = crq(dec, ks=[k]).get(k, float("nan"))
    return out


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks and print a small report.

    Example:
        >>> main(["--queries", "1"])   # doctest: +SKIP
        0
    """
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ranker", choices=["knrm", "bm25"], default="knrm")
    ap.add_argument("--queries", type=int, default=3, help="SciFact test queries (seeded sample)")
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--samples", type=int, default=100, help="N (fixed) and the maximum N (adaptive)")
    ap.add_argument("--n0", type=int, default=16, help="first round of the adaptive schedule")
    ap.add_argument("--batch", type=int, default=32, help="naive mode: texts per model call")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--neighbours", type=int, default=None, help="perturbation sets: first k table neighbours")
    ap.add_argument("--stop", choices=["document", "query"], default="document",
                    help="(b): adaptive rounds sample only blocking documents, or every document until the query stops")
    ap.add_argument("--skip", choices=["a", "b"], default=None, help="skip one of the two benchmarks")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    import irrobust as ir
    from irrobust.certify.engine import CertifyConfig, certify_lists
    from irrobust.certify.perturb import PerturbationSets
    from irrobust.certify.smoothing import KNRMSampleScorer, LuceneSampleScorer, SmoothedRanker, Squash
    from irrobust.rankers.training import select_queries

    ds = ir.dataset("beir/scifact/test")
    sets = PerturbationSets.from_dataset(ds, neighbours=args.neighbours)
    queries = select_queries(ds.queries, args.queries, args.seed)
    run = ir.BM25(ir.lucene_index(ds, progress=False), k=args.depth)(queries)
    lists = []
    for qid, grp in run.groupby("qid", sort=True):
        grp = grp.sort_values("rank")
        docnos = grp["docno"].astype(str).tolist()
        lists.append({"qid": str(qid), "query": str(grp["query"].iloc[0]), "docnos": docnos,
                      "texts": ds.docs.texts(docnos), "scores": grp["score"].to_numpy(float)})  # fmt: skip
    if args.ranker == "knrm":
        from irrobust.rankers.knrm import KNRMScorer, load_knrm

        base = KNRMScorer(load_knrm("beir/scifact/train"), threads=args.threads)
        fast = lambda: KNRMSampleScorer(base)  # noqa: E731
        naive = lambda: NaiveScorer(base, Squash("tanh"), args.batch)  # noqa: E731
    else:
        from irrobust.rankers.lucene_scoring import lucene_scorer

        base = lucene_scorer("beir/scifact")
        sq = Squash("logistic", 7.57, 1.77)  # fixed (the train-fitted values of certify_scifact); any fixed map works
        fast = lambda: LuceneSampleScorer(base, sq)  # noqa: E731
        naive = lambda: NaiveScorer(_LuceneTexts(base), sq, args.batch)  # noqa: E731
    budgets = (None, 1, 2, 5)
    ks = tuple(k for k in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 50) if k < args.depth)
    fixed = CertifyConfig(n_samples=args.samples, seed=args.seed, budgets=budgets, ks=ks)
    print(f"ranker {args.ranker}, {len(lists)} queries x top-{args.depth}, N={args.samples}, alpha=0.05, "
          f"threads {args.threads}, seed {args.seed}, neighbours {args.neighbours or 'all'}")  # fmt: skip
    if args.skip != "a":
        # warm-up outside the timings (model load, analyser JVM, tokenizer) on another query
        warm = select_queries(ds.queries, args.queries + 1, args.seed + 1).iloc[:1]
        wtext = ds.docs.texts(ir.BM25(ir.lucene_index(ds, progress=False), k=2)(warm)["docno"].tolist())
        for mk in (fast, naive):
            SmoothedRanker(mk(), sets, n_samples=2, seed=0).score(str(warm["query"].iloc[0]), wtext)
        t0 = time.perf_counter()
        res_fast = certify_lists(
            SmoothedRanker(fast(), sets, n_samples=args.samples, seed=args.seed), sets, fixed, lists
        )
        t_fast = time.perf_counter() - t0
        t0 = time.perf_counter()
        res_naive = certify_lists(SmoothedRanker(naive(), sets, n_samples=args.samples, seed=args.seed), sets, fixed,
                                  lists)  # fmt: skip
        t_naive = time.perf_counter() - t0
        dg = max(abs(a["g"] - b["g"]) for x, y in zip(res_fast, res_naive, strict=True)
                 for a, b in zip(x["docs"], y["docs"], strict=True))  # fmt: skip
        same = all(x["decisions"] == y["decisions"] for x, y in zip(res_fast, res_naive, strict=True))
        copies = sum(r["samples"] for r in res_fast)
        print("(a) batched smoothed scoring vs materialised copies in fixed batches of", args.batch)
        print(f"    irrobust {t_fast:8.2f} s   naive {t_naive:8.2f} s   ratio {t_naive / t_fast:.2f}x   "
              f"copies {copies}   max|dg| {dg:.2e}   identical certificates: {same}")  # fmt: skip
    if args.skip != "b":
        adaptive = CertifyConfig(n_samples=args.samples, seed=args.seed, budgets=budgets, ks=ks, adaptive=True,
                                 n0=args.n0, per_document=args.stop == "document")  # fmt: skip
        out = {}
        for name, cfg in (("fixed", fixed), ("adaptive", adaptive)):
            t0 = time.perf_counter()
            res = certify_lists(SmoothedRanker(fast(), sets, n_samples=args.samples, seed=args.seed), sets, cfg, lists)
            secs = time.perf_counter() - t0
            per_doc = np.mean([d["n"] for r in res for d in r["docs"] if not d["exact"]])
            out[name] = (res, secs, per_doc)
        levels = ", ".join(f"{a:.4g}" for a in adaptive.levels())
        mode = f"per {args.stop}"
        print(f"(b) adaptive, stopping {mode} (schedule {adaptive.schedule()}, levels per round {levels}) vs fixed N")
        c_f, c_a = _crq10(out["fixed"][0]), _crq10(out["adaptive"][0])
        for key in c_f:
            print(f"    {key:26s} CRQ@10 fixed {c_f[key]:.3f}  adaptive {c_a[key]:.3f}")
        pairs = [(x["decisions"][key][k], y["decisions"][key][k]) for x, y in zip(out["fixed"][0], out["adaptive"][0],
                 strict=True) for key in x["decisions"] for k in x["decisions"][key]]  # fmt: skip
        print(
            f"    all decisions (every query, K, R, rule): {len(pairs)}, certified fixed "
            f"{sum(a for a, _ in pairs)}, adaptive {sum(b for _, b in pairs)}, differing {sum(a != b for a, b in pairs)}"
        )
        print(f"    mean samples/doc: fixed {out['fixed'][2]:.1f}  adaptive {out['adaptive'][2]:.1f}  "
              f"reduction {out['fixed'][2] / out['adaptive'][2]:.2f}x   time fixed {out['fixed'][1]:.1f} s  "
              f"adaptive {out['adaptive'][1]:.1f} s   equal CRQ@10: {c_f == c_a}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
