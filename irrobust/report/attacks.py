"""Markdown sections of robustness tasks 4 (word-substitution ranking attacks) and 5 (term spamming).

Renders :class:`irrobust.evaluate.attacks.AttackTaskResult` objects (computed by
:func:`irrobust.evaluate.attacks.attack_results`); each table cell is the mean over queries of the per-query means
over that query's target documents.

Example:
    >>> attack_sections([], {})
    []
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from irrobust.evaluate.attacks import PAIRED_MEASURES, TASKS, AttackTaskResult
from irrobust.report.markdown import markdown_table

COLUMNS = (("success", "SR", True), ("boosted_ranks", "boost", False), ("top10", "top-10", True),
           ("top50", "top-50", True), ("perturbation", "PP", True), ("similarity", "SS", False),
           ("target_queries", "Q", False))  # fmt: skip


def _cell(value: float, pct: bool) -> str:
    if pd.isna(value):
        return "—"
    return f"{value * 100:.1f}%" if pct else f"{value:.2f}"


def _paired_section(table: pd.DataFrame) -> str:
    if table.empty:
        return ""
    pct = {m: p for m, _, p in PAIRED_MEASURES}
    names = {m: n for m, n, _ in PAIRED_MEASURES}
    lines = [[r.system, r.set, f"{r.reference} vs {r.other}", names[r.measure], _cell(r.mean_reference, pct[r.measure]),
              _cell(r.mean_other, pct[r.measure]), f"{r['diff'] * (100 if pct[r.measure] else 1):+.2f}",
              f"{r.p:.3g}", f"{r.p_holm:.3g}", str(r.queries)] for _, r in table.iterrows()]  # fmt: skip
    return ("Paired over queries (per-query means over the query's targets; two-sided Wilcoxon signed-rank test, "
            "Holm-corrected per system, target set and measure; diff = reference − other, in points for SR):\n\n"
            + markdown_table(["system", "set", "comparison", "measure", "reference", "other", "diff", "p", "p (Holm)",
                              "queries"], lines))  # fmt: skip


def _systems_section(table: pd.DataFrame, alpha: float) -> str:
    if table.empty:
        return ""
    pct = {m: p for m, _, p in PAIRED_MEASURES}
    names = {m: n for m, n, _ in PAIRED_MEASURES}
    lines = [[r.condition, f"{r.system} vs {r.reference}", names[r.measure], _cell(r.mean_system, pct[r.measure]),
              _cell(r.mean_reference, pct[r.measure]), f"{r['diff'] * (100 if pct[r.measure] else 1):+.2f}",
              f"{r.p:.3g}", f"{r.p_holm:.3g}" + (" ★" if r.p_holm < alpha else ""), str(r.queries)]
             for _, r in table.iterrows()]  # fmt: skip
    return (f"Systems compared under the same attack, paired over the queries both were attacked on (each system's "
            "targets come from its own list, so the query is the unit; per-query means over its targets; two-sided "
            f"Wilcoxon signed-rank test, Holm-corrected per attack and measure, ★ = p (Holm) < α = {alpha:g}; diff = system − "
            "reference, in points for SR: positive = easier to attack than the reference):\n\n"
            + markdown_table(["attack/targets", "comparison", "measure", "system", "reference", "diff", "p",
                              "p (Holm)", "queries"], lines))  # fmt: skip


def attack_sections(results: list[AttackTaskResult], families: dict[str, str], alpha: float = 0.05) -> list[str]:
    """One markdown section per attack task (4, then 5), one table per dataset; ``alpha`` marks significant
    differences between systems.

    Example:
        >>> from irrobust.evaluate.attacks import attack_results
        >>> rows = [("d", "bm25", "ranking-attack", "prada/easy", "1", m, v) for m, v in
        ...         [("success", 1.0), ("boosted_ranks", 3.0)]]
        >>> t = pd.DataFrame(rows, columns=["dataset", "system", "task", "condition", "qid", "measure", "value"])
        >>> "| prada/easy | bm25 | lexical | 100.0% | 3.00 |" in attack_sections(attack_results(t), {"bm25": "lexical"})[0]
        True
    """
    parts: list[str] = []
    for task, title, intro in TASKS:
        mine = [r for r in results if r.task == task]
        if not mine:
            continue
        section = [f"## {title}\n", intro + "\n"]
        for r in mine:
            lines = []
            for cond in r.conditions:
                for s in r.systems:
                    if (s, cond) not in r.queries.index:
                        continue
                    cells = [cond, s, families.get(s, "")]
                    for m, _, pct in COLUMNS:
                        cells.append(_cell(r.means.get((s, cond, m), float("nan")), pct))
                    cells.append(str(int(r.queries[(s, cond)])))
                    lines.append(cells)
            section.append(f"### {r.dataset}\n\n" + markdown_table(["attack/targets", "system", "family",
                                                                     *[c[1] for c in COLUMNS], "queries"], lines))  # fmt: skip
            for extra in (_systems_section(r.systems_paired, alpha), _paired_section(r.paired)):
                if extra:
                    section.append(extra)
        parts.append("\n\n".join(section) + "\n")
    return parts


def skipped_note(skipped: list[dict[str, Any]]) -> str:
    """A sentence listing attacks that did not apply to a system (e.g. white-box on a non-differentiable one).

    Example:
        >>> skipped_note([{"system": "bm25", "attack": "gradient", "reason": "target not differentiable"}])
        'Not applicable: gradient on bm25 (target not differentiable).'
    """
    if not skipped:
        return ""
    items = ", ".join(f"{s['attack']} on {s['system']} ({s['reason']})" for s in skipped)
    return f"Not applicable: {items}."
