"""Markdown rendering of results tables (reads only the long results table and comparisons).

Significance marks follow ranx's report style, reimplemented: ▲ / ▼ after a mean that is
significantly higher / lower than the baseline's after correction.

Example:
    >>> import pandas as pd
    >>> from irrobust.evaluate.table import long_rows
    >>> t = long_rows(pd.DataFrame({"qid": ["1"], "measure": ["nDCG@10"], "value": [0.5]}), "d", "bm25")
    >>> "| bm25 (baseline) | 0.5000 |" in effectiveness_tables(t, pd.DataFrame(), "bm25", "t", "holm", 0.05)
    True
"""

from __future__ import annotations

import re

import pandas as pd

from irrobust.evaluate.significance import CORRECTION_NAMES, TEST_NAMES
from irrobust.evaluate.table import summarize

#: characters that start markdown syntax anywhere in a line (raw HTML, links and images, code, emphasis, table cells)
_INLINE_SPECIAL = re.compile(r"([\\`*\[\]<|])")
#: an underscore that could open or close emphasis (not between two word characters, as in ``query_stuffing``)
_EMPHASIS_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
#: markers that start a block (heading, quote, list, rule, numbered list) at the beginning of a paragraph
_BLOCK_START = re.compile(r"^([#>+=-]|\d+(?=[.)]))")


def md_escape(text: object) -> str:
    """``text`` as literal markdown inline text: no HTML, links, images, code or emphasis, no line breaks.

    Every user-supplied string (pipeline names, descriptions, system, dataset and condition names) goes through this
    before it enters a report, so a name can neither break a table nor inject markup. Renderers (and
    :func:`irrobust.report.html.markdown_to_html`) show the original characters.

    Example:
        >>> print(md_escape("<img src=x onerror=alert(1)> | ![a](/etc/passwd)"))
        \\<img src=x onerror=alert(1)> \\| !\\[a\\](/etc/passwd)
        >>> print(md_escape("bm25>>knrm on query_stuffing"))
        bm25>>knrm on query_stuffing
    """
    s = " ".join(str(text).split())  # one line: a newline would end a table row or start a block
    s = _INLINE_SPECIAL.sub(r"\\\1", s)
    return _EMPHASIS_UNDERSCORE.sub(r"\\_", s)


def md_paragraphs(text: object) -> str:
    """A user-supplied block of text (a pipeline ``description``) as escaped markdown paragraphs.

    Blank lines separate paragraphs; each is escaped with :func:`md_escape` and cannot start a heading, quote or list.

    Example:
        >>> print(md_paragraphs("# not a heading\\n\\n<script>x</script>"))
        \\# not a heading
        <BLANKLINE>
        \\<script>x\\</script>
    """
    paragraphs = [md_escape(p) for p in re.split(r"\n\s*\n", str(text or "").strip()) if p.strip()]
    return "\n\n".join(_BLOCK_START.sub(lambda m: "\\" + m.group(1) if not m.group(1).isdigit() else m.group(1) + "\\",
                                          p, count=1) for p in paragraphs)  # fmt: skip


def report_header(name: object, description: object) -> str:
    """The title and description block of a report, both escaped.

    Example:
        >>> print(report_header("run <1>", "a | b"))
        # run \\<1>
        <BLANKLINE>
        a \\| b
        <BLANKLINE>
    """
    body = md_paragraphs(description)
    return f"# {md_escape(name)}\n" + (f"\n{body}\n" if body else "")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured markdown table; every cell is escaped with :func:`md_escape` (cells are plain text).

    Example:
        >>> print(markdown_table(["a", "b"], [["1", "2"]]))
        | a | b |
        |---|---|
        | 1 | 2 |
    """
    lines = ["| " + " | ".join(map(md_escape, header)) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(map(md_escape, r)) + " |" for r in rows]
    return "\n".join(lines)


def _mark(comparisons: pd.DataFrame, ds: str, task: str, cond: str, system: str, measure: str) -> str:
    if comparisons is None or comparisons.empty:
        return ""
    hit = comparisons[(comparisons.dataset == ds) & (comparisons.task == task) & (comparisons.condition == cond)
                      & (comparisons.system == system) & (comparisons.measure == measure)]  # fmt: skip
    if hit.empty or not bool(hit.iloc[0].significant):
        return ""
    return " ▲" if hit.iloc[0].delta > 0 else " ▼"


def effectiveness_tables(table: pd.DataFrame, comparisons: pd.DataFrame, baseline: str, test: str,
                         correction: str, alpha: float, heading_level: int = 3,
                         means: pd.DataFrame | None = None) -> str:  # fmt: skip
    """One table per (dataset, task, condition): systems × measures, means with significance marks.

    ``means`` are the table's means (:func:`irrobust.evaluate.table.summarize`) when the caller computed them
    already (a :class:`irrobust.evaluate.results.RunResults` does); otherwise they are computed here.

    Example:
        >>> effectiveness_tables(pd.DataFrame(columns=["dataset"]), pd.DataFrame(), "b", "t", "holm", .05)
        ''
    """
    if table.empty:
        return ""
    summary = summarize(table) if means is None else means
    parts = []
    h = "#" * heading_level
    for (ds, task, cond), block in summary.groupby(["dataset", "task", "condition"], sort=False):
        measures = list(dict.fromkeys(block.measure))
        systems = list(dict.fromkeys(block.system))
        n = table[(table.dataset == ds) & (table.task == task) & (table.condition == cond)].qid.nunique()
        rows = []
        for system in systems:
            cells = [system + (" (baseline)" if system == baseline else "")]
            for m in measures:
                v = block[(block.system == system) & (block.measure == m)].value
                cells.append(
                    f"{float(v.iloc[0]):.4f}{_mark(comparisons, ds, task, cond, system, m)}" if len(v) else "–"
                )
            rows.append(cells)
        title = (f"{h} {md_escape(ds)}" + (f" — {md_escape(task)}" if task != "effectiveness" else "")
                 + (f" ({md_escape(cond)})" if cond != "clean" else ""))  # fmt: skip
        parts.append(f"{title}\n\n{markdown_table(['system'] + measures, rows)}\n\n{n} queries.")
    legend = (f"▲ / ▼: significantly higher / lower than the baseline {md_escape(baseline)} ({TEST_NAMES[test]} on paired "
              f"per-query values, {CORRECTION_NAMES[correction]} correction over the systems compared per measure, α = {alpha}).")  # fmt: skip
    return "\n\n".join(parts) + "\n\n" + legend + "\n"


def pvalue_table(comparisons: pd.DataFrame) -> str:
    """Markdown table of every comparison: delta, raw and adjusted p-values.

    Example:
        >>> pvalue_table(pd.DataFrame())
        ''
    """
    if comparisons is None or comparisons.empty:
        return ""
    rows = [[r.dataset, r.condition, r.system, r.measure, f"{r.mean:.4f}", f"{r.baseline_mean:.4f}", f"{r.delta:+.4f}",
             f"{r.p_value:.3g}", f"{r.p_adjusted:.3g}", "yes" if r.significant else "no"]
            for r in comparisons.itertuples()]  # fmt: skip
    header = ["dataset", "condition", "system", "measure", "mean", "baseline", "Δ", "p", "p (adj.)", "significant"]
    return markdown_table(header, rows)
