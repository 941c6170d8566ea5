"""Report sections for robustness tasks 4 (word-substitution ranking attacks) and 5 (term spamming).

Reads only the long results table (rows with ``task`` ``ranking-attack`` / ``term-spamming``, ``condition``
``<attack>/<set>``; per-query means over that query's target documents). Each table cell is the mean over
queries. Scorecard entries: per task and dataset, the system with the lowest mean attack success rate
over the task's attacks and target sets wins (the most robust).

Example:
    >>> parts, card = attack_sections(pd.DataFrame(columns=["dataset", "system", "task", "condition", "qid",
    ...                                                      "measure", "value"]), {})
    >>> parts, card
    ([], [])
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from irrobust.report.markdown import markdown_table

TASKS = (
    ("ranking-attack", "Task 4 — word-substitution ranking attacks",
     "Each target document (easy: one from each of ranks 51–60 … 91–100; hard: the last five of the top-100) "
     "is promoted by synonym substitutions within the word budget; its rank is counted among the other "
     "candidates' clean scores. SR = share of targets whose rank improved, boost = mean ranks gained, "
     "top-10 / top-50 = share reaching them, PP = share of words changed, SS = MiniLM cosine of original and "
     "attacked document, Q = target-model queries per document. Lower SR = more robust."),
    ("term-spamming", "Task 5 — term spamming",
     "Query-term stuffing and sentence injection (from a top-ranked document of the same list) within the word "
     "budget; same targets and measures as task 4 (PP = inserted words / original words). Lower SR = more "
     "robust."),
)  # fmt: skip
COLUMNS = (("success", "SR", True), ("boosted_ranks", "boost", False), ("top10", "top-10", True),
           ("top50", "top-50", True), ("perturbation", "PP", True), ("similarity", "SS", False),
           ("target_queries", "Q", False))  # fmt: skip


def _cell(value: float, pct: bool) -> str:
    if pd.isna(value):
        return "—"
    return f"{value * 100:.1f}%" if pct else f"{value:.2f}"


def attack_sections(table: pd.DataFrame, families: dict[str, str]) -> tuple[list[str], list[tuple[str, str, pd.DataFrame, str, bool]]]:  # fmt: skip
    """Markdown sections of tasks 4–5 and scorecard entries ``(task, dataset, frame(system, value), criterion, lower)``.

    Example:
        >>> rows = [("d", "bm25", "ranking-attack", "prada/easy", "1", m, v) for m, v in
        ...         [("success", 1.0), ("boosted_ranks", 3.0)]]
        >>> t = pd.DataFrame(rows, columns=["dataset", "system", "task", "condition", "qid", "measure", "value"])
        >>> parts, card = attack_sections(t, {"bm25": "lexical"})
        >>> card[0][0], card[0][2].value.tolist()
        ('T4 word-substitution attacks', [1.0])
    """
    parts: list[str] = []
    card: list[tuple[str, str, pd.DataFrame, str, bool]] = []
    for task, title, intro in TASKS:
        rows_t = table[table.task == task]
        if rows_t.empty:
            continue
        section = [f"## {title}\n", intro + "\n"]
        means = rows_t.groupby(["dataset", "system", "condition", "measure"], sort=False)["value"].mean()
        nq = rows_t.groupby(["dataset", "system", "condition"], sort=False)["qid"].nunique()
        for ds, grp in rows_t.groupby("dataset", sort=False):
            conditions = list(dict.fromkeys(grp.condition))
            systems = list(dict.fromkeys(grp.system))
            lines = []
            for cond in conditions:
                for s in systems:
                    if (ds, s, cond) not in nq.index:
                        continue
                    cells = [cond, s, families.get(s, "")]
                    for m, _, pct in COLUMNS:
                        cells.append(_cell(means.get((ds, s, cond, m), float("nan")), pct))
                    cells.append(str(int(nq[(ds, s, cond)])))
                    lines.append(cells)
            section.append(f"### {ds}\n\n" + markdown_table(["attack/targets", "system", "family",
                                                             *[c[1] for c in COLUMNS], "queries"], lines))  # fmt: skip
            sr = grp[grp.measure == "success"].groupby("system", sort=False)["value"].mean()
            label = "T4 word-substitution attacks" if task == "ranking-attack" else "T5 term spamming"
            card.append((label, ds, sr.rename("value").reset_index(), "lowest mean attack success rate", True))
        parts.append("\n\n".join(section) + "\n")
    return parts, card


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
