"""GPU check: irrobust's cross-encoder scorer vs ``CrossEncoder.predict``, and dense encoding, on one device.

Needs only torch, transformers, sentence-transformers, numpy and the folder written by
``export_gpu_inputs.py`` (fp16 model + real SciFact query–document pairs); irrobust's scorer module is imported
from this checkout without the rest of irrobust's stack. Prints, measured side by side in one run:

* cross-encoder pairs/s of ``CrossEncoder.predict`` (default settings: batch 32, fp32 weights) and of
  irrobust's ``CrossEncoderScorer`` (device auto: bf16/fp16 autocast and token-budget batches sorted by length
  on CUDA), and their ratio;
* max |Δscore| between the two, nDCG@10 of both rankings of the BM25 lists, and the share of queries whose
  top 10 is identical;
* dense encoding docs/s (the model's MiniLM body with mean pooling, as all-MiniLM-L6-v2).

Targets on an H200 (issue 15): >= 25,000 pairs/s at <= 256 tokens, >= 3x ``CrossEncoder.predict``, |Δ| < 1e-2,
identical top 10 on >= 95 % of queries. ``--smoke`` runs a few pairs on whatever device there is (CPU in CI).

    python scripts/bench/bench_gpu.py --inputs gpu_inputs            # on the GPU machine
    .venv/bin/python scripts/bench/bench_gpu.py --inputs /tmp/tiny --smoke
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def load_inputs(folder: Path, limit: int | None = None) -> dict:
    """Queries, documents, BM25 run and qrels from an exported folder (``limit``: first queries only)."""
    queries = [json.loads(line) for line in (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines()]
    if limit:
        queries = queries[:limit]
    keep = {q["qid"] for q in queries}
    with gzip.open(folder / "docs.jsonl.gz", "rt", encoding="utf-8") as fh:
        docs = {d["docno"]: d["text"] for d in map(json.loads, fh)}
    run = []
    for line in (folder / "run.tsv").read_text(encoding="utf-8").splitlines():
        qid, docno, score = line.split("\t")
        if qid in keep:
            run.append((qid, docno, float(score)))
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for line in (folder / "qrels.tsv").read_text(encoding="utf-8").splitlines():
        qid, docno, label = line.split("\t")
        qrels[qid][docno] = int(label)
    text = {q["qid"]: q["query"] for q in queries}
    pairs = [(text[qid], docs[docno]) for qid, docno, _ in run]
    return {"run": run, "pairs": pairs, "qrels": qrels, "docs": docs}


def ndcg_at_10(run: list[tuple[str, str, float]], scores: np.ndarray, qrels: dict) -> tuple[float, dict]:
    """Mean nDCG@10 (linear gains) of the run re-ranked by ``scores``, and each query's top-10 docnos."""
    by_q: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for (qid, docno, _), s in zip(run, scores, strict=True):
        by_q[qid].append((float(s), docno))
    tops, vals = {}, []
    for qid, items in by_q.items():
        items.sort(key=lambda x: (-x[0], x[1]))
        top = [d for _, d in items[:10]]
        tops[qid] = top
        rel = qrels.get(qid, {})
        dcg = sum(rel.get(d, 0) / np.log2(i + 2) for i, d in enumerate(top))
        ideal = sorted(rel.values(), reverse=True)[:10]
        idcg = sum(g / np.log2(i + 2) for i, g in enumerate(ideal))
        vals.append(dcg / idcg if idcg > 0 else 0.0)
    return float(np.mean(vals)), tops


def timed(fn, sync) -> tuple[float, object]:
    sync()
    t = time.perf_counter()
    out = fn()
    sync()
    return time.perf_counter() - t, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inputs", required=True, help="folder written by export_gpu_inputs.py")
    ap.add_argument("--smoke", action="store_true", help="a few pairs on any device (CI check of the script)")
    ap.add_argument("--repeats", type=int, default=2, help="timed repeats (best counts)")
    ap.add_argument("--out", help="also write the figures as JSON here")
    args = ap.parse_args(argv)

    import torch
    from sentence_transformers import CrossEncoder, SentenceTransformer, models

    sys.path.insert(0, str(REPO))
    from irrobust.rankers.scoring import CrossEncoderScorer  # the scorer alone: no pandas, pyserini or Java

    folder = Path(args.inputs)
    model = folder / "model"
    data = load_inputs(folder, limit=2 if args.smoke else None)
    pairs, run = data["pairs"], data["run"]
    cuda = torch.cuda.is_available()
    device = "cuda:0" if cuda else "cpu"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    name = torch.cuda.get_device_name(0) if cuda else "CPU"
    print(f"device {device} ({name}), torch {torch.__version__}, {len(pairs)} pairs, {len(data['docs'])} documents")

    ce = CrossEncoder(str(model), device=device, max_length=256, model_kwargs={"dtype": torch.float32})
    ours = CrossEncoderScorer(model, device="auto", max_length=256)
    ce.predict(pairs[:64], show_progress_bar=False)  # warm-up (kernels, allocator)
    ours.score_pairs(pairs[:64])
    t_ce, t_ours = float("inf"), float("inf")
    ref = mine = None
    for _ in range(1 if args.smoke else args.repeats):
        t, ref = timed(lambda: ce.predict(pairs, show_progress_bar=False), sync)
        t_ce = min(t_ce, t)
        t, mine = timed(lambda: ours.score_pairs(pairs), sync)
        t_ours = min(t_ours, t)
    ref, mine = np.asarray(ref, dtype=np.float64), np.asarray(mine, dtype=np.float64)
    nd_ref, top_ref = ndcg_at_10(run, ref, data["qrels"])
    nd_ours, top_ours = ndcg_at_10(run, mine, data["qrels"])
    same_top = float(np.mean([top_ref[q] == top_ours[q] for q in top_ref]))
    delta = float(np.abs(ref - mine).max())

    docs = list(data["docs"].values())
    body = models.Transformer(str(model), max_seq_length=256, model_args={"dtype": torch.float32})
    dim = (getattr(body, "get_embedding_dimension", None) or body.get_word_embedding_dimension)()
    dense = SentenceTransformer(modules=[body, models.Pooling(dim, "mean")], device=device)
    if cuda:
        dense.half()
    dense.encode(docs[:32], batch_size=32, show_progress_bar=False)
    t_dense, _ = timed(lambda: dense.encode(docs, batch_size=256 if cuda else 32, show_progress_bar=False), sync)

    figures = {
        "device": name,
        "pairs": len(pairs),
        "precision": ours.precision,
        "ce_predict_pairs_per_s": len(pairs) / t_ce,
        "irrobust_pairs_per_s": len(pairs) / t_ours,
        "speedup": t_ce / t_ours,
        "max_abs_delta": delta,
        "ndcg10_predict": nd_ref,
        "ndcg10_irrobust": nd_ours,
        "identical_top10": same_top,
        "dense_docs_per_s": len(docs) / t_dense,
    }
    print(f"CrossEncoder.predict (batch 32, fp32)  {figures['ce_predict_pairs_per_s']:>10.0f} pairs/s")
    print(f"irrobust scorer ({ours.precision:>8})          {figures['irrobust_pairs_per_s']:>10.0f} pairs/s   "
          f"{figures['speedup']:.2f}x predict")  # fmt: skip
    print(f"max |Δscore| {delta:.2e}; nDCG@10 predict {nd_ref:.4f} vs irrobust {nd_ours:.4f}; "
          f"identical top 10 on {same_top:.1%} of queries")  # fmt: skip
    print(f"dense encoding (MiniLM body, mean pooling)  {figures['dense_docs_per_s']:>10.0f} docs/s")
    if cuda and not args.smoke:
        checks = {
            ">= 25,000 pairs/s": figures["irrobust_pairs_per_s"] >= 25_000,
            ">= 3x predict": figures["speedup"] >= 3.0,
            "|Δ| < 1e-2": delta < 1e-2,
            "top-10 identical >= 95 %": same_top >= 0.95,
        }
        print("targets: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in checks.items()))
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
