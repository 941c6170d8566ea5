"""Reports: render a run's results object (:class:`irrobust.evaluate.results.RunResults`) as markdown, HTML and JSON.

Nothing here computes a statistic; :mod:`irrobust.evaluate` does, in memory, once.

Example:
    >>> write_reports  # doctest: +ELLIPSIS
    <function write_reports at ...>
"""

from __future__ import annotations

from pathlib import Path

from irrobust.evaluate.results import RunResults


def write_reports(results: RunResults, out_dir: Path) -> str:
    """Write ``report.md``, ``report.html`` (plots embedded) and ``report.json`` into ``out_dir``; return the markdown.

    Example:
        >>> import tempfile, pandas as pd
        >>> from irrobust.evaluate.results import build_results
        >>> from irrobust.evaluate.table import long_rows
        >>> t = long_rows(pd.DataFrame({"qid": ["1", "2"], "measure": "nDCG@10", "value": [.5, 1.]}), "d", "bm25")
        >>> out = Path(tempfile.mkdtemp())
        >>> md = write_reports(build_results("n", "", t, baseline="bm25", measure="nDCG@10", families={}), out)
        >>> sorted(p.name for p in out.iterdir())
        ['report.html', 'report.json', 'report.md']
    """
    from irrobust.report.html import write_html_report
    from irrobust.report.json_report import results_json
    from irrobust.report.robustness import render_markdown
    from irrobust.util.io import atomic_write_json, atomic_write_text

    out_dir = Path(out_dir)
    report = render_markdown(results, out_dir)
    atomic_write_text(out_dir / "report.md", report)
    write_html_report(out_dir / "report.html", results.name, report)
    atomic_write_json(out_dir / "report.json", results_json(results))
    return report


__all__ = ["write_reports"]
