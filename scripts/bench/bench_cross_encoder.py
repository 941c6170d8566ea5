"""Benchmark irrobust's CrossEncoderScorer against sentence_transformers.CrossEncoder.predict on real pairs.

Pairs: the first ``--queries`` SciFact test queries × their BM25 top ``--depth`` documents. In one run it
reports, side by side: pairs/s of ``CrossEncoder.predict`` (default settings, batch 32) and of the scorer
in exact fp32 mode and in each low-precision mode, the speed ratios, max |Δscore| of fp32 vs
``CrossEncoder.predict``, nDCG@10 of each mode, and the achieved fraction of the fp32 / bf16 matmul
peaks measured in the same run (a large ``torch.matmul``). Model FLOPs ≈ 2 × encoder-layer parameters
× tokens + attention (4 × L² × hidden per layer), counted on the real (unpadded) token lengths.

On CPUs without native bf16 (no AVX512-BF16/AMX) bf16 runs emulated and is very slow; then the bf16 modes
are timed on ``--bf16-pairs`` pairs only and their nDCG is not computed.

Example:
    .venv/bin/python scripts/bench/bench_cross_encoder.py --queries 5
    .venv/bin/python scripts/bench/bench_cross_encoder.py --model indexes/beir/scifact/models/ce-minilm --queries 20
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def matmul_peak(dtype: str, n: int, seconds: float = 2.0) -> float:
    """GFLOP/s of an n×n×n torch.matmul in ``dtype`` (best of repeated runs within ~``seconds``)."""
    import torch

    dt = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g).to(dt)
    b = torch.randn(n, n, generator=g).to(dt)
    a @ b
    best, spent = float("inf"), 0.0
    while spent < seconds:
        t = time.perf_counter()
        a @ b
        el = time.perf_counter() - t
        best, spent = min(best, el), spent + el
    return 2.0 * n**3 / best / 1e9


def untrained_model_dir() -> Path:
    """MiniLM + a fresh 1-logit head (seeded): speed does not depend on the weights, effectiveness does."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from irrobust.index.models import minilm_path

    out = Path(tempfile.mkdtemp(prefix="irrobust-bench-ce-"))
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(str(minilm_path()))
    tok.model_max_length = 256
    AutoModelForSequenceClassification.from_pretrained(str(minilm_path()), num_labels=1).save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--model",
        help="cross-encoder directory (default: indexes/beir/scifact/models/ce-minilm if "
        "trained, else an untrained MiniLM + head at max_length 256)",
    )
    ap.add_argument("--queries", type=int, default=5, help="number of SciFact test queries (default 5)")
    ap.add_argument("--depth", type=int, default=100, help="BM25 candidates per query (default 100)")
    ap.add_argument("--modes", default="int8,bf16,bf16-autocast", help="low-precision modes to compare")
    ap.add_argument("--bf16-pairs", type=int, default=48, help="pairs timed for bf16 modes on CPUs without native bf16")
    ap.add_argument("--repeats", type=int, default=1, help="interleaved repeats (best time counts)")
    ap.add_argument("--out", help="also write the results as JSON here")
    args = ap.parse_args(argv)

    import torch
    from sentence_transformers import CrossEncoder

    import irrobust as ir
    from irrobust.core.transformer import add_ranks
    from irrobust.evaluate.measures import evaluate_run
    from irrobust.index.models import model_dir
    from irrobust.rankers.scoring import CrossEncoderScorer, cpu_has_native_bf16, resolve_precision

    native_bf16 = cpu_has_native_bf16()
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, cpu capability "
        f"{torch.backends.cpu.get_cpu_capability()}, native bf16: {native_bf16}, 'fast' = {resolve_precision('fast')}"
    )
    peak32 = matmul_peak("fp32", 2048)
    # emulated bf16 is ~400x slower: a 512^3 product (0.27 GFLOP) is the largest that times in seconds
    peak16 = matmul_peak("bf16", 2048 if native_bf16 else 512, seconds=2.0)
    print(f"matmul peak: fp32 {peak32:.1f} GFLOP/s, bf16 {peak16:.1f} GFLOP/s")

    trained = model_dir("beir/scifact", "ce-minilm")
    model = Path(args.model) if args.model else (trained if (trained / "manifest.json").is_file() else None)
    if model is None:
        model = untrained_model_dir()
        print(f"model: untrained MiniLM + fresh head at {model} (train ce-minilm for meaningful nDCG)")
    else:
        print(f"model: {model}")

    ds = ir.dataset("beir/scifact/test")
    queries = ds.queries.sort_values("qid").head(args.queries)
    run = ir.BM25(ir.lucene_index(ds.collection), k=args.depth)(queries)
    run = run.assign(text=ds.docs.texts(run["docno"].tolist()))
    qrels = ds.qrels[ds.qrels["qid"].isin(queries["qid"])]
    pairs = list(zip(run["query"], run["text"], strict=True))
    n = len(pairs)

    ce = CrossEncoder(str(model), device="cpu")
    exact = CrossEncoderScorer(model, precision="fp32")
    lengths = [
        len(x)
        for x in exact.tokenizer(
            run["query"].tolist(), run["text"].tolist(), truncation="longest_first", max_length=exact.max_length
        )["input_ids"]
    ]
    flops_per_pair = exact.encoder_flops(lengths) / n
    print(
        f"{n} pairs, max_length {exact.max_length}, mean tokens/pair {np.mean(lengths):.1f}, "
        f"≈{flops_per_pair / 1e9:.2f} GFLOP/pair"
    )
    ce.predict(pairs[:8], show_progress_bar=False)
    exact.score_pairs(pairs[:8])

    t_ce, t_ex = float("inf"), float("inf")
    for _ in range(args.repeats):
        t = time.perf_counter()
        ref = ce.predict(pairs, show_progress_bar=False)
        t_ce = min(t_ce, time.perf_counter() - t)
        t = time.perf_counter()
        ours = exact.score_pairs(pairs)
        t_ex = min(t_ex, time.perf_counter() - t)

    def ndcg(scores: np.ndarray) -> float:
        return evaluate_run(add_ranks(run.assign(score=scores.astype(np.float64))), qrels, ["nDCG@10"])["nDCG@10"]

    rows = [
        {
            "mode": "CrossEncoder.predict",
            "pairs": n,
            "seconds": t_ce,
            "pairs_per_s": n / t_ce,
            "ratio": 1.0,
            "ndcg10": ndcg(ref),
            "peak": "fp32",
            "max_abs_diff": 0.0,
        },
        {
            "mode": "irrobust fp32",
            "pairs": n,
            "seconds": t_ex,
            "pairs_per_s": n / t_ex,
            "ratio": t_ce / t_ex,
            "ndcg10": ndcg(ours),
            "peak": "fp32",
            "max_abs_diff": float(np.abs(ours - ref).max()),
        },
    ]
    for mode in [m for m in args.modes.split(",") if m]:
        scorer = CrossEncoderScorer(model, precision=mode)
        subset = pairs if (native_bf16 or not mode.startswith("bf16")) else pairs[: args.bf16_pairs]
        scorer.score_pairs(subset[:4])
        best = float("inf")
        for _ in range(args.repeats):
            t = time.perf_counter()
            s = scorer.score_pairs(subset)
            best = min(best, time.perf_counter() - t)
        full = len(subset) == n
        rows.append(
            {
                "mode": f"irrobust {mode}",
                "pairs": len(subset),
                "seconds": best,
                "pairs_per_s": len(subset) / best,
                "ratio": (len(subset) / best) / (n / t_ce),
                "ndcg10": ndcg(s) if full else None,
                "peak": "bf16" if mode.startswith("bf16") else "fp32",
                "max_abs_diff": float(np.abs(s - ref[: len(subset)]).max()),
            }
        )

    peaks = {"fp32": peak32, "bf16": peak16}
    print(
        f"\n{'mode':<24}{'pairs':>7}{'pairs/s':>10}{'ratio':>8}{'nDCG@10':>10}{'max|Δ|':>11}{'GFLOP/s':>10}"
        f"{'of peak':>16}"
    )
    for r in rows:
        gflops = r["pairs_per_s"] * flops_per_pair / 1e9
        r["gflops"] = gflops
        r["peak_fraction"] = gflops / peaks[r["peak"]]
        nd = f"{r['ndcg10']:.4f}" if r["ndcg10"] is not None else "n/a"
        print(
            f"{r['mode']:<24}{r['pairs']:>7}{r['pairs_per_s']:>10.2f}{r['ratio']:>7.2f}x{nd:>10}"
            f"{r['max_abs_diff']:>11.2e}{gflops:>10.1f}{r['peak_fraction']:>10.1%} {r['peak']}"
        )
    base = rows[0]["peak_fraction"]
    print(
        f"CrossEncoder.predict runs at {base:.0%} of the fp32 matmul peak measured above: an exact fp32 scorer "
        f"doing the same FLOPs can be at most {1 / base:.2f}x faster on this machine"
    )
    if args.out:
        Path(args.out).write_text(
            json.dumps(
                {
                    "peaks": peaks,
                    "native_bf16": native_bf16,
                    "rows": rows,
                    "flops_per_pair": flops_per_pair,
                    "model": str(model),
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
