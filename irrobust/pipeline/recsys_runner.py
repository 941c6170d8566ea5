"""Run a ``kind: recsys`` pipeline into a run directory (the grid itself is :func:`irrobust.recsys.experiment.run_recsys`).

Writes ``results.csv`` (per-user rows with a ``seed`` column), ``summary.json`` (means over users and seeds),
``report.md`` / ``report.html`` (the recommender section with its plots) into the run directory.

Example:
    >>> run_recsys_pipeline(cfg, rd)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from irrobust.evaluate.table import summarize
from irrobust.pipeline.recsys_config import RecsysPipeline
from irrobust.pipeline.rundir import RunDir
from irrobust.util.io import atomic_write_json, atomic_write_text


def run_recsys_pipeline(cfg: RecsysPipeline, rd: RunDir, progress: bool = True, executor: Any = None) -> dict[str, Any]:
    """Run the recommender grid (a :class:`~irrobust.recsys.experiment.RecsysGrid` task: one unit per training, in the
    one unit store ``checkpoints/recsys/units/``, on ``executor``, default in this process), then write the tables
    and the report.

    Example:
        >>> run_recsys_pipeline  # doctest: +ELLIPSIS
        <function run_recsys_pipeline at ...>
    """
    from irrobust.recsys.experiment import run_recsys
    from irrobust.report.html import write_html_report
    from irrobust.report.markdown import report_header
    from irrobust.report.recsys import recsys_section

    table = run_recsys(cfg.recsys, rd.path, seed=cfg.seed, progress=progress, executor=executor)
    atomic_write_text(rd.file("results.csv"), table.to_csv(index=False))
    atomic_write_json(rd.file("summary.json"), summarize(table).to_dict(orient="records"))
    section = recsys_section(table, rd.path)
    report = f"{report_header(cfg.name, cfg.description)}\n{section}\n"
    atomic_write_text(rd.file("report.md"), report)
    write_html_report(rd.file("report.html"), cfg.name, report)
    return {"datasets": {cfg.recsys.label: {"rows": len(table)}}, "seeds": sorted(set(table["seed"].tolist()))}
