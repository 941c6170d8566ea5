"""A larger fuzzing campaign over pipeline files than the default suite runs (issue 17).

Uses the generator of ``tests/foundation/test_fuzz_config.py`` (mutations of ``pipelines/`` at the level of the
parsed mapping and of the file's bytes, plus the fixed hostile corpus) with a seeded ``random.Random``, validates
every case in-process and reports how many were accepted, rejected with a located ``ConfigError``, or failed
otherwise (a traceback, a case taking more than ``--max-seconds`` of CPU time), and the growth of peak memory.

Usage::

    IRROBUST_THREADS=1 .venv/bin/python scripts/fuzz/fuzz_pipelines.py --cases 5000 --seed 1

Exit code 0 when every case was accepted or a located error, 1 otherwise (the failing cases are written to
``--failures DIR`` for replay with ``irrobust validate``).

Example:
    >>> main(["--cases", "20", "--seed", "3"])  # doctest: +SKIP
    0
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import random
import resource
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _generator():
    """The test module that holds the generator (loaded by path: tests/ is not a package)."""
    path = REPO / "tests" / "foundation" / "test_fuzz_config.py"
    spec = importlib.util.spec_from_file_location("_fuzz_corpus", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def main(argv: list[str] | None = None) -> int:
    """Run the campaign; print the counts; return 0 when nothing but accepted files and located errors was seen.

    Example:
        >>> main(["--cases", "10"])  # doctest: +SKIP
        0
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000, help="generated cases (the hostile corpus is added)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=1.0, help="most CPU seconds one validation may take")
    parser.add_argument("--failures", default=None, help="folder for the files of failing cases")
    args = parser.parse_args(argv)

    from irrobust.errors import ConfigError
    from irrobust.pipeline.config import load_pipeline

    fz = _generator()
    rng = random.Random(args.seed)
    pick = fz._Chooser(rng=rng)
    for p in fz.PIPELINES:  # warm the imports before the memory high-water mark is taken
        load_pipeline(p)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts: Counter = Counter()
    slowest = 0.0
    failures = Path(args.failures) if args.failures else Path(tempfile.mkdtemp(prefix="fuzz-failures-"))
    cases = [(f"hostile-{k}", v) for k, v in fz.HOSTILE.items()]
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.cases + len(cases)):
            if i < len(cases):
                name, data = cases[i]
            else:
                base = rng.choice(sorted(fz.TEXTS))
                name = f"gen{i:05d}-{base}"
                if rng.random() < 0.5:
                    data = fz.dump(fz.mutate(copy.deepcopy(fz.BASES[base]), pick, rng.randint(1, 4)))
                else:
                    data = fz.mutate_bytes(fz.TEXTS[base], pick, rng.randint(1, 3))
            path = Path(tmp) / f"{name}.yaml"
            path.write_bytes(data)
            t0 = time.process_time()
            try:
                fz.check_accepted(load_pipeline(path))
                verdict = "accepted"
            except ConfigError as exc:
                verdict = "located-error" if str(exc).startswith(str(path)) else "unlocated-error"
            except Exception:  # noqa: BLE001 - a traceback is what the campaign looks for
                verdict = "traceback"
                (failures / f"{name}.txt").parent.mkdir(parents=True, exist_ok=True)
                (failures / f"{name}.txt").write_text(traceback.format_exc())
            seconds = time.process_time() - t0
            slowest = max(slowest, seconds)
            if seconds > args.max_seconds:
                verdict = "slow"
            if verdict in ("traceback", "slow", "unlocated-error"):
                failures.mkdir(parents=True, exist_ok=True)
                (failures / f"{name}.yaml").write_bytes(data)
            counts[verdict] += 1
            path.unlink()
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss0
    total = sum(counts.values())
    print(f"fuzz_pipelines: {total} cases (seed {args.seed}): {dict(sorted(counts.items()))}; "
          f"slowest {slowest:.2f} CPU seconds; peak RSS grew {grown:.0f} MB")  # fmt: skip
    bad = counts["traceback"] + counts["slow"] + counts["unlocated-error"]
    if bad:
        print(f"fuzz_pipelines: {bad} failing cases written to {failures}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
