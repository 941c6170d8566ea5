"""Command line: ``irrobust run PIPELINE.yaml [--out DIR]`` and helpers.

User errors (bad pipeline files, unknown datasets, corrupt data, missing models) print one
paragraph naming the file and key path and exit with code 2 — never a traceback.

Example:
    >>> main(["validate", "pipelines/quickstart.yaml"])  # doctest: +SKIP
    0
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from irrobust.errors import IrrobustError


def _cmd_run(args: argparse.Namespace) -> int:
    from irrobust.pipeline.config import parse_pipeline, read_yaml
    from irrobust.pipeline.runner import run_pipeline

    data = read_yaml(args.pipeline)
    if args.executor or args.ray_address:  # the command line overrides the file's `executor:`
        spec = data.get("executor")
        spec = dict(spec) if isinstance(spec, dict) else {"kind": spec or "local"}
        if args.executor:
            spec = spec if spec.get("kind") == args.executor else {"kind": args.executor}
        if args.ray_address:
            spec = {**spec, "kind": "ray", "address": args.ray_address}
        data = {**data, "executor": spec}
    cfg = parse_pipeline(data, source=str(args.pipeline))
    out = run_pipeline(cfg, Path(args.out) if args.out else None, progress=not args.quiet, force=args.force)
    print(f"irrobust: finished {cfg.name}; results in {out}")
    report = out / "report.md"
    if report.is_file() and not args.quiet:
        print(_final_summary(report.read_text(), verbose=args.verbose))
    return 0


def _final_summary(report: str, verbose: bool = False) -> str:
    """What a run prints at the end: the report's opening summary (the whole report with ``--verbose`` or when the
    run has no robustness task, hence no summary).

    Example:
        >>> print(_final_summary("# t\\n\\n## Summary — x\\n\\n- a\\n\\n## Effectiveness\\n\\n| b |"))
        ## Summary — x
        <BLANKLINE>
        - a
    """
    start = report.find("\n## Summary")
    if verbose or start < 0:
        return report
    end = report.find("\n## ", start + 1)
    return report[start + 1 : end if end > 0 else len(report)].rstrip()


def _cmd_validate(args: argparse.Namespace) -> int:
    from irrobust.pipeline.config import load_pipeline

    cfg = load_pipeline(args.pipeline)
    print(f"{args.pipeline}: valid {cfg.kind} pipeline {cfg.name!r}")
    return 0


def _cmd_datasets(args: argparse.Namespace) -> int:
    from irrobust.data.dataset import KNOWN_DATASETS
    from irrobust.data.seed import RECIPES, collection_of
    from irrobust.paths import seed_dir

    seed = seed_dir()
    for ds_id in KNOWN_DATASETS:
        recipe = RECIPES.get(collection_of(ds_id))
        staged = seed is not None and recipe is not None and all((seed / s).is_file() for s in recipe.sources)
        print(f"{ds_id:24s} {'staged copy' if staged else 'download via ir_datasets'}")
    return 0


def _cmd_index(args: argparse.Namespace) -> int:
    from irrobust.index.lucene import lucene_index

    idx = lucene_index(args.dataset, rebuild=args.rebuild, progress=not args.quiet)
    print(f"irrobust: index {idx.path}: {idx.manifest['doc_count']} documents")
    return 0


def _cmd_components(args: argparse.Namespace) -> int:
    from irrobust.pipeline.registry import RANKERS

    for name, entry in RANKERS.items():
        params = ", ".join(f"{k}={f.default!r}" for k, f in entry.params.model_fields.items())
        print(f"{name:16s} {entry.description}\n{'':16s} params: {params or '-'}")
    return 0


def _cmd_prepare(args: argparse.Namespace) -> int:
    import pandas as pd

    from irrobust.data.seed import seed_all
    from irrobust.evaluate.measures import per_query

    for name, checksum in seed_all().items():
        print(f"{name:16s} {'seeded from the staged copy' if checksum else 'no staged copy: downloads on first use'}")
    # Compile ranx's numba kernels once (they are cached on disk), so the first evaluation is fast.
    run = pd.DataFrame({"qid": ["1", "1"], "docno": ["a", "b"], "score": [2.0, 1.0], "rank": [1, 2]})
    qrels = pd.DataFrame({"qid": ["1"], "docno": ["b"], "label": [1]})
    per_query(run, qrels, ["nDCG@10", "nDCG", "R@100", "P@10", "MAP@100", "AP", "RR@10", "RR", "Hits@10"])
    print("ranx measures compiled")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (subcommands run, validate, datasets, index, prepare, components).

    Example:
        >>> build_parser().parse_args(["run", "p.yaml", "--out", "d"]).out
        'd'
    """
    parser = argparse.ArgumentParser(prog="irrobust", description="Robustness of search rankers and recommenders.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run a pipeline file into a run directory")
    p.add_argument("pipeline", help="pipeline YAML file (see pipelines/)")
    p.add_argument("--out", help="run directory (default: runs/<name>)")
    p.add_argument("--force", action="store_true",
                   help="replace an output directory holding another run (removes only the files irrobust writes; "
                        "never follows symbolic links)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="print only errors, warnings and the final summary")
    p.add_argument("--verbose", action="store_true",
                   help="show library log lines, warnings and progress bars, and print the whole report at the end")  # fmt: skip
    p.add_argument("--executor", choices=["local", "ray"],
                   help="who runs the task units (overrides the file's `executor:`; outputs are identical)")  # fmt: skip
    p.add_argument("--ray-address", help="with Ray: `local`, `auto` or the head node's host:port")
    p.set_defaults(fn=_cmd_run)
    p = sub.add_parser("validate", help="check a pipeline file without running it")
    p.add_argument("pipeline")
    p.set_defaults(fn=_cmd_validate)
    p = sub.add_parser("datasets", help="list dataset IDs and where they come from")
    p.set_defaults(fn=_cmd_datasets)
    p = sub.add_parser("index", help="build (or check) the Lucene index of a dataset's collection")
    p.add_argument("dataset")
    p.add_argument("--rebuild", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--verbose", action="store_true", help="show library log lines and warnings")
    p.set_defaults(fn=_cmd_index)
    p = sub.add_parser("prepare", help="seed every staged dataset into the cache and compile the measures")
    p.set_defaults(fn=_cmd_prepare)
    p = sub.add_parser("components", help="list registered rankers and their parameters")
    p.set_defaults(fn=_cmd_components)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``irrobust`` console script; returns the exit code.

    Example:
        >>> main(["validate", "/nonexistent.yaml"])  # doctest: +SKIP
        2
    """
    from irrobust.util.quiet import output_mode

    args = build_parser().parse_args(argv)
    try:
        # default: progress bars and the final summary, no library chatter; --quiet: only errors, warnings and the
        # final summary; --verbose: everything (irrobust.util.quiet)
        with output_mode(getattr(args, "quiet", False), getattr(args, "verbose", False)):
            return int(args.fn(args) or 0)
    except IrrobustError as exc:
        msg = textwrap.fill(str(exc), width=100, break_long_words=False, break_on_hyphens=False,
                            replace_whitespace=False) if "\n" not in str(exc) else str(exc)  # fmt: skip
        print(f"irrobust: error: {msg}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("irrobust: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
