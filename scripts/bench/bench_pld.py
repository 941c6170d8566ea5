"""Benchmark: PLD epoch time vs standard BPR epoch time, same data and backbone, measured side by side.

Both trainers are built on the same noisy ml-100k split (rho = 0.2, all 943 users) and the same
RecBole model class; their epochs are interleaved (standard, PLD, standard, PLD, ...) so that
background load on the shared machine hits both alike. Standard = interaction-wise epochs
(ceil(#train/B) batches, one uniform negative per pair, irrobust's vectorised sampler that replaced
RecBole's loader, see irrobust.recsys.training); PLD = user-uniform batches, k=5
candidate pool, shared negative, batched candidate losses, softmax(-loss/tau) sampling, after
warm-up (warm-up disabled here so every timed epoch resamples). Prints the median epoch times and
the ratio PLD / standard per backbone. Scratch files go to a temporary directory that is removed.

Usage:
    .venv/bin/python scripts/bench/bench_pld.py [--epochs 5] [--threads 1] [--backbones MF LightGCN]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402

from irrobust.recsys import compat  # noqa: E402,F401  (before recbole)
from irrobust.recsys.config import RecsysConfig  # noqa: E402
from irrobust.recsys.data import load_interactions  # noqa: E402
from irrobust.recsys.experiment import prepare_unit  # noqa: E402
from irrobust.recsys.protocol import make_split  # noqa: E402
from irrobust.recsys.sandbox import recbole_sandbox  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5, help="timed epochs per trainer (after one untimed epoch)")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--backbones", nargs="+", default=["MF", "LightGCN"], choices=["MF", "LightGCN"])
    ap.add_argument("--rho", type=float, default=0.2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    split = make_split(load_interactions("ml-100k"), rho=args.rho, seed=2024)
    print(
        f"ml-100k rho={args.rho}: {split.n_users} users, {len(split.train)} training interactions "
        f"({split.noise_share:.3f} injected), batch 2048, {args.epochs} timed epochs, {args.threads} thread(s)"
    )
    cfg = RecsysConfig(methods=["standard", "pld"], pld_warmup_epochs=0, epochs=args.epochs + 1, eval_step=1)
    ratios = {}
    with tempfile.TemporaryDirectory(prefix="bench_pld_") as tmp:
        work = Path(tmp)
        with recbole_sandbox(work):
            for backbone in args.backbones:
                units = {m: prepare_unit(cfg, split, "ml-100k", backbone, m, work) for m in ("standard", "pld")}
                times: dict[str, list[float]] = {"standard": [], "pld": []}
                for epoch in range(args.epochs + 1):
                    for m, unit in units.items():
                        t0 = time.perf_counter()
                        unit.trainer._train_epoch(unit.train_data, epoch)
                        if epoch > 0:  # the first epoch warms caches (CSR adjacency, allocator)
                            times[m].append(time.perf_counter() - t0)
                for unit in units.values():
                    unit.trainer.tensorboard.close()
                std, pld = statistics.median(times["standard"]), statistics.median(times["pld"])
                ratios[backbone] = pld / std
                nb_std = len(units["standard"].train_data)
                print(
                    f"{backbone:9s} standard: {std:6.3f} s/epoch ({nb_std} batches)   "
                    f"PLD: {pld:6.3f} s/epoch   ratio PLD/standard = {pld / std:.2f}x"
                )
    print(
        "target <= 1.5x:",
        "met" if all(r <= 1.5 for r in ratios.values()) else "NOT met",
        {k: round(v, 2) for k, v in ratios.items()},
    )


if __name__ == "__main__":
    main()
