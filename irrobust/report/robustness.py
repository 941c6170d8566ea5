"""The comparative robustness report: effectiveness, tasks 1–5 of Wu et al. (TOIS 2022), certification, the
seen / unseen split, a scorecard, and the summary it opens with.

Renders a :class:`irrobust.evaluate.results.RunResults` (every statistic is computed there, in memory, from the
per-query rows); this module only formats tables, draws the plots and writes nothing but the plot files.
Tasks (Wu, Zhang, Guo, Fan & Cheng, "Are Neural Ranking Models Robust?", TOIS 2022):

1. *Performance variance* on i.i.d. queries: standard deviation / variance of the per-query measure, mean of
   the worst 10% / 25% of queries, percentile-bootstrap CI of the mean. Winner: lowest standard deviation.
2. *Query shifts* (out of distribution): per shift, the paired drop of each system from its clean run.
   Winner: smallest mean relative drop over the shifts.
3. *Domain transfer*: learned systems trained on the source collection, evaluated on a target, against the
   same systems trained in-domain (BM25 and other untrained rankers are the reference: no drop).
   Winner: smallest mean relative drop.

Example:
    >>> import pandas as pd
    >>> from irrobust.evaluate.results import build_results
    >>> from irrobust.evaluate.table import long_rows
    >>> t = long_rows(pd.DataFrame({"qid": ["1", "2"], "measure": "nDCG@10", "value": [.5, 1.]}), "d", "bm25")
    >>> render_markdown(build_results("demo", "", t, baseline="bm25", measure="nDCG@10", families={}), None)[:6]
    '# demo'
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from irrobust.evaluate.results import NEURAL, RunResults
from irrobust.evaluate.significance import CORRECTION_NAMES
from irrobust.report.markdown import effectiveness_tables, markdown_table, md_escape, pvalue_table, report_header
from irrobust.util.names import slug


def _plot(path: Path | None, draw: Callable[[Any], None]) -> None:
    """Draw one figure with ``draw(ax)`` and write it as a PNG to ``path`` (nothing when ``path`` is None)."""
    if path is None:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 3.8), dpi=110)
    draw(ax)
    fig.tight_layout()
    from io import BytesIO

    from irrobust.util.io import atomic_write_bytes

    buf = BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def render_markdown(results: RunResults, out_dir: Path | None) -> str:
    """The whole markdown report of a retrieval run; plots are written under ``out_dir/plots/`` (none when
    ``out_dir`` is None).

    Example:
        >>> render_markdown  # doctest: +ELLIPSIS
        <function render_markdown at ...>
    """
    from irrobust.report.attacks import attack_sections
    from irrobust.report.certify import certify_sections
    from irrobust.report.memorization import memorization_section
    from irrobust.report.summary import summary_section

    r = results
    sig, measure, families, table = r.significance, r.measure, r.families, r.table

    def plot_path(rel: str) -> Path | None:
        return None if out_dir is None else Path(out_dir) / rel

    out = [report_header(r.name, r.description)]
    summary = summary_section(r.summary, r.scorecard.excluded, measure)
    if summary:
        out.append(summary)
    eff = table[table.task == "effectiveness"]
    out.append(
        "## Effectiveness\n\n" + effectiveness_tables(eff, r.comparisons, r.baseline, sig.test, sig.correction, sig.alpha,
                                                     means=r.means[r.means.task == "effectiveness"] if len(r.means) else None)
    )  # fmt: skip
    fam_rows = [[name, fam] for name, fam in families.items()]
    out.append("Systems and their families:\n\n" + markdown_table(["system", "family"], fam_rows) + "\n")

    if r.variance is not None:
        v = r.variance.settings
        stats = r.variance.stats
        parts = [f"## Task 1 — performance variance on i.i.d. queries ({measure})\n",
                 f"Per-query spread on the test queries. CI: {round((1 - v.alpha) * 100)}% percentile bootstrap of the "
                 f"mean ({v.bootstrap} resamples, seed {r.variance.seed}). Lower standard deviation = more robust.\n"]  # fmt: skip
        for ds, grp in stats.groupby("dataset", sort=False) if len(stats) else []:
            worst_cols = [c for c in grp.columns if c.startswith("worst ")]
            rows = [[row["system"], families.get(row["system"], ""), f"{row['mean']:.4f}", f"{row['std']:.4f}",
                     f"{row['variance']:.4f}"] + [f"{row[c]:.4f}" for c in worst_cols]
                    + [f"[{row['ci_low']:.4f}, {row['ci_high']:.4f}]"] for _, row in grp.iterrows()]  # fmt: skip
            parts.append(f"### {md_escape(ds)}\n\n" + markdown_table(["system", "family", "mean", "std", "variance",
                                                                      *worst_cols, "CI of mean"], rows))  # fmt: skip
            plot = f"plots/variance-{_slug(ds)}.png"
            data = eff[(eff.dataset == ds) & (eff.measure == measure)]
            systems = list(dict.fromkeys(data.system))

            def draw(ax, data=data, systems=systems, ds=ds):
                ax.boxplot([data[data.system == s].value.to_numpy() for s in systems], showmeans=True)
                ax.set_xticks(range(1, len(systems) + 1), [_plain(s) for s in systems], rotation=20)
                ax.set_ylabel(f"per-query {measure}")
                ax.set_title(_plain(f"{ds}: per-query spread"))

            _plot(plot_path(plot), draw)
            parts.append(f"![per-query spread on {md_escape(ds)}]({plot})")
        out.append("\n\n".join(parts) + "\n")

    if r.shifts is not None:
        cc, shift_stats = r.shifts.comparisons, r.shifts.shift_stats
        parts = [f"## Task 2 — query shifts (out of distribution, {measure})\n",
                 f"Each cell: mean under the shift and its relative change from the same system's clean run (negative: a "
                 f"drop; the plot and the scorecard use the drop, positive when the shift hurts); ▼ / ▲ = "
                 f"significantly lower / higher ({cc.test.iloc[0] if len(cc) else sig.test} on paired per-query "
                 f"values, {CORRECTION_NAMES[sig.correction]} correction over all systems × shifts per dataset, α = {sig.alpha}). "
                 "Every query is evaluated; the last row says how many the shift actually changed.\n"]  # fmt: skip
        for ds, grp in cc.groupby("dataset", sort=False):
            shifts = list(dict.fromkeys(grp.condition))
            systems = list(dict.fromkeys(grp.system))
            rows = []
            for s in systems:
                cells = [s]
                for c in shifts:
                    row = grp[(grp.system == s) & (grp.condition == c)].iloc[0]
                    mark = (" ▼" if row.delta < 0 else " ▲") if row.significant else ""
                    cells.append(f"{row['mean']:.4f} ({-row.relative_drop * 100:+.1f}%){mark}")
                rows.append(cells)
            st = shift_stats[shift_stats.dataset == ds].set_index("condition") if len(shift_stats) else None
            if st is not None:
                rows.append(["queries changed"] + [f"{int(st.loc[c, 'changed'])}/{int(st.loc[c, 'queries'])}"
                                                   for c in shifts])  # fmt: skip
            parts.append(f"### {md_escape(ds)}\n\n" + markdown_table(["system", *shifts], rows))
            plot = f"plots/shifts-{_slug(ds)}.png"

            def draw(ax, grp=grp, shifts=shifts, systems=systems, ds=ds):
                width = 0.8 / max(1, len(systems))
                x = np.arange(len(shifts))
                for i, s in enumerate(systems):
                    vals = [float(grp[(grp.system == s) & (grp.condition == c)].relative_drop.iloc[0]) * 100
                            for c in shifts]  # fmt: skip
                    ax.bar(x + i * width, vals, width, label=_plain(s))
                ax.set_xticks(x + width * (len(systems) - 1) / 2, [_plain(c) for c in shifts], rotation=15)
                ax.set_ylabel(f"relative drop of {measure} (%)")
                ax.axhline(0, color="black", linewidth=0.6)
                ax.legend(fontsize=7)
                ax.set_title(_plain(f"{ds}: drop per shift"))

            _plot(plot_path(plot), draw)
            parts.append(f"![drop per shift on {md_escape(ds)}]({plot})")
        out.append("\n\n".join(parts) + "\n")

    if r.transfer is not None:
        cc = r.transfer.comparisons
        parts = [f"## Task 3 — domain transfer ({measure})\n",
                 "Learned parts trained on the source collection and applied to the target, against the same system "
                 "trained in-domain where the target has training data (untrained rankers such as BM25 are the "
                 "reference: identical in both columns). Relative drop: positive when the transferred system is worse. "
                 "▼ / ▲ = significantly lower / higher than in-domain; a negative drop means the in-domain model is "
                 "the weaker one.\n"]  # fmt: skip
        if cc.empty:
            targets = ", ".join(map(md_escape, r.transfer.targets))
            parts.append(f"None of the targets ({targets}) has training data, so no in-domain model exists; the "
                         "effectiveness tables above show the transferred systems against BM25 on each target.")  # fmt: skip
            out.append("\n\n".join(parts) + "\n")
        rows = [] if cc.empty else [[row.dataset, row.condition, row.system, families.get(row.system, ""),
                 f"{row.reference_mean:.4f}", f"{row['mean']:.4f}", f"{row.relative_drop * 100:+.1f}%"
                 + ((" ▼" if row.delta < 0 else " ▲") if row.significant else "")]
                for _, row in cc.iterrows()]  # fmt: skip
        if rows:
            parts.append(markdown_table(["target", "condition", "system", "family", "in-domain", "transferred",
                                         "relative drop"], rows))  # fmt: skip
            out.append("\n\n".join(parts) + "\n")

    out.extend(attack_sections(r.attacks, families, r.significance.alpha))
    out.extend(certify_sections(r.certify, families))
    out.extend(scorecard_section(r))
    out.append("## All comparisons with the baseline\n\n" + pvalue_table(r.comparisons) + "\n")
    timing_rows = [[k, f"{v:.1f}"] for k, v in r.timings.items()]
    out.append("## Timings (seconds)\n\n" + markdown_table(["step", "seconds"], timing_rows) + "\n")
    report = "\n".join(out)
    if r.memorization is not None:  # learned rankers: is a gain relevance matching or remembered documents?
        report += "\n" + memorization_section(r.memorization.rows, r.memorization.splits, r.memorization.measure,
                                              sig.test, sig.correction, sig.alpha)  # fmt: skip
    return report


def scorecard_section(results: RunResults) -> list[str]:
    """The scorecard (winner per task and dataset) and its verdict on neural rankers, or nothing without tasks.

    Example:
        >>> from irrobust.evaluate.results import RunResults, SignificanceSettings
        >>> import pandas as pd
        >>> scorecard_section(RunResults("n", "", "b", "m", SignificanceSettings(), 0, pd.DataFrame(), pd.DataFrame(), {}))
        []
    """
    rows, families, weak = results.scorecard.rows, results.families, results.scorecard.excluded
    if not rows:
        return []
    lines = [[row["task"], row["dataset"], row["winner"], families.get(row["winner"], ""), f"{row['value']:.4f}",
              row["criterion"]] for row in rows]  # fmt: skip
    neural = [row for row in rows if families.get(row["winner"]) in NEURAL]
    ties = sum(row["winner"].startswith("tie") for row in rows)
    tie_note = f" ({ties} tied, won by no family)" if ties else ""
    verdict = (f"Neural rankers win {len(neural)} of {len(rows)} task × dataset comparisons{tie_note}."
               if results.has_neural else "This run has no neural ranker, so it cannot answer whether neural rankers "
               "are more robust; it compares the lexical and learned systems it has.")  # fmt: skip
    excluded = "; ".join(f"{md_escape(ds)}: {', '.join(map(md_escape, names))}" for ds, names in weak.items())
    eligibility = (f" Not eligible to win (significantly worse than the baseline on clean {results.measure}): "
                   f"{excluded}." if excluded else "")  # fmt: skip
    return ["## Scorecard — are neural rankers robust?\n\n"
            + markdown_table(["task", "dataset", "winner", "family", "value", "criterion"], lines)
            + f"\n\n{verdict}{eligibility}\n"]  # fmt: skip


def _plain(text: str) -> str:
    """A user-supplied label as literal plot text (a ``$`` would start matplotlib math mode, which can fail to parse).

    Example:
        >>> print(_plain("a$x^$b"))
        a\\$x^\\$b
    """
    return str(text).replace("$", r"\$")


def _slug(name: str) -> str:
    return slug(name)
