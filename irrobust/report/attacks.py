"""Report sections for robustness tasks 4 (word-substitution ranking attacks) and 5 (term spamming).

Reads only the long results table (rows with ``task`` ``ranking-attack`` / ``term-spamming``, ``condition``
``<attack>/<set>``; per-query means over that query's target documents). Each table cell is the mean over
queries. Task 4 adds a paired comparison (:func:`paired_attack_table`): the first listed word-substitution attack
against each other one on the same target set, per system, over the queries both attacked (per-query success
rate and boost; two-sided Wilcoxon signed-rank test, Holm-corrected per system, target set and measure).
Scorecard entries: per task and dataset, the system with the lowest mean attack success rate over the task's
attacks and target sets wins (the most robust).

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


PAIRED_MEASURES = (("success", "SR", True), ("boosted_ranks", "boost", False))


def paired_attack_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Paired comparison of word-substitution attacks over queries, per dataset, system and target set.

    ``rows``: long-table rows of task 4. The first condition (in table order) of each target set is the
    reference; every other attack on that set is compared with it on the queries both have, for per-query
    success rate and boost: means, mean difference (reference − other), two-sided Wilcoxon signed-rank p-value
    and its Holm adjustment within (dataset, system, set, measure).

    Example:
        >>> rows = [("d", "s", "ranking-attack", f"{a}/easy", str(q), "success", v)
        ...         for q in range(8) for a, v in (("prada", 1.0), ("random", 0.0))]
        >>> t = paired_attack_table(pd.DataFrame(rows, columns=["dataset", "system", "task", "condition", "qid",
        ...                                                      "measure", "value"]))
        >>> t[["reference", "other", "measure", "diff"]].values.tolist()
        [['prada', 'random', 'success', 1.0]]
        >>> round(float(t.p.iloc[0]), 4)
        0.0078
    """
    from irrobust.evaluate.significance import holm, paired_test

    out = []
    rows = rows.assign(attack=rows.condition.str.rsplit("/", n=1).str[0],
                       set=rows.condition.str.rsplit("/", n=1).str[-1])  # fmt: skip
    for (ds, system, tset), grp in rows.groupby(["dataset", "system", "set"], sort=False):
        attacks = list(dict.fromkeys(grp.attack))
        for m, _, _ in PAIRED_MEASURES:
            wide = grp[grp.measure == m].pivot_table(index="qid", columns="attack", values="value", aggfunc="mean")
            found = []
            for other in attacks[1:]:
                if attacks[0] not in wide or other not in wide:
                    continue
                pair = wide[[attacks[0], other]].dropna()
                if pair.empty:
                    continue
                stat, p = paired_test(pair[attacks[0]].to_numpy(), pair[other].to_numpy(), "wilcoxon")
                found.append({"dataset": ds, "system": system, "set": tset, "reference": attacks[0], "other": other,
                              "measure": m, "mean_reference": float(pair[attacks[0]].mean()),
                              "mean_other": float(pair[other].mean()),
                              "diff": float((pair[attacks[0]] - pair[other]).mean()), "p": p,
                              "queries": len(pair)})  # fmt: skip
            for rec, adj in zip(found, holm([f["p"] for f in found]), strict=True):
                out.append({**rec, "p_holm": adj})
    cols = ["dataset", "system", "set", "reference", "other", "measure", "mean_reference", "mean_other", "diff", "p",
            "p_holm", "queries"]  # fmt: skip
    return pd.DataFrame(out, columns=cols)


def _paired_section(rows: pd.DataFrame) -> str:
    table = paired_attack_table(rows)
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
            paired = _paired_section(grp) if task == "ranking-attack" else ""
            if paired:
                section.append(paired)
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
