"""Executors side by side: the same certify and attack units in-process (``executor: local``) and on Ray workers.

Runs, in one process and one after the other, a certification pipeline and an attack pipeline (Cranfield, BM25
and QL, CPU-bound units) with ``executor: local`` and with ``executor: ray`` on a private Ray instance of
``--workers`` CPUs, then reports:

* whether the outputs are identical (results.csv, significance.csv, attacks.csv, attacked_documents.csv,
  certificates.csv, run files; compute-seconds columns removed);
* the wall time of the task units (the executor's part: the ``*/units`` timings of the manifest) and of the whole
  pipeline, and their local / Ray ratio;
* Ray's overhead per unit, from trivial units (a few microseconds of work each) run both ways.

Ray's own start (``ray.init``) is measured once and not charged to the pipelines; the workers' one-off rebuild of
each system (index, scorer, synonym table) is part of the Ray units' wall time.

Example:
    IRROBUST_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python scripts/bench/bench_executor.py \\
        --workers 2 --out /tmp/bench_executor
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import time
from pathlib import Path

CERTIFY = """\
name: bench-exec-certify
seed: 7
datasets: [cranfield]
max_queries: {queries}
measures: [nDCG@10]
systems:
  - name: bm25
    stages: [{{ranker: bm25, params: {{k: 50}}}}]
  - name: ql
    stages: [{{ranker: ql, params: {{k: 50}}}}]
tasks:
  certify:
    max_queries: {queries}
    depth: 20
    samples: {samples}
    budgets: [null, 2]
    ks: [1, 3, 10]
    rules: [{{rule: max, bound: hoeffding}}, {{rule: max, bound: bernstein}}]
    exact_bm25: false
"""

ATTACK = """\
name: bench-exec-attack
seed: 7
datasets: [cranfield]
max_queries: {queries}
measures: [nDCG@10]
systems:
  - name: bm25
    stages: [{{ranker: bm25, params: {{k: 50}}}}]
  - name: ql
    stages: [{{ranker: ql, params: {{k: 50}}}}]
tasks:
  attacks:
    max_queries: {queries}
    similarity: false
    targets: {{depth: 50, sets: [easy, hard], buckets: [[11, 30], [31, 50]], hard: 2}}
    items:
      - {{attack: random, params: {{max_words: 10, query_budget: {budget}}}}}
      - {{attack: tfidf, params: {{max_words: 10, query_budget: {budget}}}}}
"""


def _outputs(run: Path) -> dict[str, bytes]:
    import pandas as pd

    names = ["results.csv", "significance.csv", "attacks.csv", "attacked_documents.csv", "certify/certificates.csv"]
    found = [n for n in names if (run / n).is_file()] + sorted(
        p.relative_to(run).as_posix() for p in (run / "runs").rglob("*.trec")
    )
    out = {}
    for name in found:
        data = (run / name).read_bytes()
        if name.endswith(".csv") and data.strip():
            df = pd.read_csv(io.StringIO(data.decode()), dtype=str, keep_default_na=False)
            data = df[[c for c in df.columns if "seconds" not in c]].to_csv(index=False).encode()
        out[name] = data
    return out


def _run(pipe: Path, out: Path, executor: dict) -> tuple[float, float, int]:
    """Run a pipeline with ``executor``; return (pipeline wall s, units wall s, units computed)."""
    from irrobust.pipeline.config import parse_pipeline, read_yaml
    from irrobust.pipeline.runner import run_pipeline

    cfg = parse_pipeline({**read_yaml(pipe), "executor": executor}, source=str(pipe))
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    run_pipeline(cfg, out, progress=False)
    wall = time.perf_counter() - t0
    timings = json.loads((out / "manifest.json").read_text())["timings"]
    units = sum(v for k, v in timings.items() if k.endswith("/units"))
    n = sum(1 for p in out.rglob("*.json") if p.parent.parent.name in ("units", "smoothed", "exact"))
    return wall, units, n


class Trivial:
    """Units that do almost nothing: the executor's own cost per unit."""

    name = "trivial"

    def __init__(self, n: int) -> None:
        self.n = n

    def units(self):
        from irrobust.core.task import Unit, unit_key

        return [Unit(unit_key("trivial", i), i) for i in range(self.n)]

    def run(self, unit):
        return {"i": unit.inputs, "v": unit.inputs * 2}

    def combine(self, results):
        return [r["v"] for r in results]


def _trivial(n: int, root: Path) -> tuple[float, float]:
    from irrobust.core.executor import LocalExecutor, run_task
    from irrobust.core.ray_executor import RayExecutor
    from irrobust.core.store import UnitStore

    shutil.rmtree(root, ignore_errors=True)
    t0 = time.perf_counter()
    a = run_task(Trivial(n), UnitStore(root / "local"), LocalExecutor())
    t_local = time.perf_counter() - t0
    t0 = time.perf_counter()
    b = run_task(Trivial(n), UnitStore(root / "ray"), RayExecutor("auto"))
    t_ray = time.perf_counter() - t0
    assert a == b
    return t_local, t_ray


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queries", type=int, default=12, help="queries certified / attacked per system")
    parser.add_argument("--samples", type=int, default=6000, help="certification samples N")
    parser.add_argument("--budget", type=int, default=300, help="attack query budget")
    parser.add_argument("--trivial", type=int, default=200, help="trivial units for the overhead measurement")
    parser.add_argument("--out", default="/tmp/bench_executor")
    args = parser.parse_args(argv)

    from irrobust.core.ray_executor import import_ray

    ray = import_ray()  # the driver runs the JVM too (see irrobust.core.ray_executor.JVM_SAFE_ENV)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pipes = {"certify": out / "certify.yaml", "attack": out / "attack.yaml"}
    pipes["certify"].write_text(CERTIFY.format(queries=args.queries, samples=args.samples))
    pipes["attack"].write_text(ATTACK.format(queries=args.queries, budget=args.budget))
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False, logging_level="WARNING",
             object_store_memory=256 * 1024**2)  # fmt: skip
    t_init = time.perf_counter() - t0
    rows = []
    for name, pipe in pipes.items():
        local = _run(pipe, out / "local" / name, {"kind": "local"})
        remote = _run(pipe, out / "ray" / name, {"kind": "ray", "address": "auto"})
        same = _outputs(out / "local" / name) == _outputs(out / "ray" / name)
        rows.append((name, local, remote, same))
        print(f"{name}: identical outputs {same}; units {local[2]}; units wall local {local[1]:.1f}s ray "
              f"{remote[1]:.1f}s ({local[1] / remote[1]:.2f}x); pipeline wall local {local[0]:.1f}s ray "
              f"{remote[0]:.1f}s ({local[0] / remote[0]:.2f}x)", flush=True)  # fmt: skip
    t_loc, t_ray = _trivial(args.trivial, out / "trivial")
    load1 = os.getloadavg()
    ray.shutdown()
    print(f"\nRay start {t_init:.1f}s; load average before {load0[0]:.2f}, after {load1[0]:.2f} "
          f"({os.cpu_count()} CPUs)\n")  # fmt: skip
    print("| workload | units | identical outputs | units wall local (s) | units wall Ray (s) | ratio "
          "| pipeline wall local (s) | pipeline wall Ray (s) | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, local, remote, same in rows:
        print(f"| {name} | {local[2]} | {'yes' if same else 'NO'} | {local[1]:.1f} | {remote[1]:.1f} | "
              f"{local[1] / remote[1]:.2f}x | {local[0]:.1f} | {remote[0]:.1f} | {local[0] / remote[0]:.2f}x |")
    print(f"\ntrivial units: {args.trivial} in {t_loc * 1000:.0f} ms locally ({t_loc / args.trivial * 1e3:.2f} ms/unit, "
          f"the store's write), {t_ray * 1000:.0f} ms on Ray ({t_ray / args.trivial * 1e3:.2f} ms/unit): Ray's "
          f"overhead {(t_ray - t_loc) / args.trivial * 1e3:.2f} ms per unit")  # fmt: skip
    return 0 if all(same for *_, same in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
