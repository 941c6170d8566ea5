"""Statistics of robustness tasks 4 (word-substitution ranking attacks) and 5 (term spamming).

Computed from the long results table (rows with ``task`` ``ranking-attack`` / ``term-spamming``, ``condition``
``<attack>/<set>``; per-query means over that query's target documents) and, for the number of attacked targets,
the per-target rows of the attack task (``attacks.csv``). Task 4 adds a paired comparison
(:func:`paired_attack_table`): the first listed word-substitution attack against each other one on the same target
set, per system, over the queries both attacked (per-query success rate and boost; two-sided Wilcoxon signed-rank
test, Holm-corrected per system, target set and measure). Both tasks add a paired comparison between systems
(:func:`paired_system_table`): every attacked system against the reference system under the same attack and target
set, over the queries both were attacked on (the query is the unit: targets are drawn from each system's own list,
so only the queries pair). Scorecard: per task and dataset, the system with the lowest mean attack success rate over
the task's attacks and target sets is the most robust.

Example:
    >>> attack_results(pd.DataFrame(columns=["dataset", "system", "task", "condition", "qid", "measure", "value"]))
    []
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from irrobust.evaluate.scorecard import ScorecardEntry
from irrobust.evaluate.significance import holm, paired_test

#: (task, title, introduction) of the two attack tasks, in report order
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
#: scorecard label of each attack task
LABELS = {"ranking-attack": "T4 word-substitution attacks", "term-spamming": "T5 term spamming"}
#: measures of the paired comparison: (measure, label, shown as a percentage)
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


def paired_system_table(rows: pd.DataFrame, reference: str | None = None) -> pd.DataFrame:
    """Paired comparison of systems under the same attack, over queries, per dataset and condition.

    ``rows``: long-table rows of one attack task. Under each condition (``<attack>/<set>``), every system is compared
    with ``reference`` (default: the first system of the table that was attacked; the pipeline passes its baseline)
    on the queries both were attacked on, for per-query success rate and boost: means, mean difference
    (system − reference), two-sided Wilcoxon signed-rank p-value and its Holm adjustment within (dataset,
    condition, measure). A reference that was not attacked under a condition falls back to the first system that was.

    Example:
        >>> rows = [("d", s, "ranking-attack", "tfidf/easy", str(q), "success", v)
        ...         for q in range(8) for s, v in (("bm25", 0.0), ("ce", 1.0))]
        >>> t = paired_system_table(pd.DataFrame(rows, columns=["dataset", "system", "task", "condition", "qid",
        ...                                                      "measure", "value"]), "bm25")
        >>> t[["condition", "reference", "system", "measure", "diff"]].values.tolist()
        [['tfidf/easy', 'bm25', 'ce', 'success', 1.0]]
        >>> round(float(t.p.iloc[0]), 4)
        0.0078
    """
    out = []
    for (ds, cond), grp in rows.groupby(["dataset", "condition"], sort=False):
        systems = list(dict.fromkeys(grp.system))
        ref = reference if reference in systems else systems[0]
        for m, _, _ in PAIRED_MEASURES:
            wide = grp[grp.measure == m].pivot_table(index="qid", columns="system", values="value", aggfunc="mean")
            found = []
            for other in systems:
                if other == ref or ref not in wide or other not in wide:
                    continue
                pair = wide[[ref, other]].dropna()
                if pair.empty:
                    continue
                _, p = paired_test(pair[other].to_numpy(), pair[ref].to_numpy(), "wilcoxon")
                found.append({"dataset": ds, "condition": cond, "reference": ref, "system": other, "measure": m,
                              "mean_reference": float(pair[ref].mean()), "mean_system": float(pair[other].mean()),
                              "diff": float((pair[other] - pair[ref]).mean()), "p": p, "queries": len(pair)})  # fmt: skip
            for rec, adj in zip(found, holm([f["p"] for f in found]), strict=True):
                out.append({**rec, "p_holm": adj})
    cols = ["dataset", "condition", "reference", "system", "measure", "mean_reference", "mean_system", "diff", "p",
            "p_holm", "queries"]  # fmt: skip
    return pd.DataFrame(out, columns=cols)


@dataclass
class AttackTaskResult:
    """One attack task (4 or 5) on one dataset: per (system, condition, measure) means, query counts, the paired
    comparison of attacks (task 4), the paired comparison of systems (``systems_paired``) and the scorecard entry.

    ``means`` is indexed by ``(system, condition, measure)``, ``queries`` by ``(system, condition)``; ``conditions``
    and ``systems`` keep the table's order.

    Example:
        >>> rows = [("d", "bm25", "ranking-attack", "prada/easy", "1", "success", 1.0)]
        >>> r = attack_results(pd.DataFrame(rows, columns=["dataset", "system", "task", "condition", "qid",
        ...                                                 "measure", "value"]))[0]
        >>> r.task, r.dataset, float(r.means[("bm25", "prada/easy", "success")])
        ('ranking-attack', 'd', 1.0)
    """

    task: str
    title: str
    intro: str
    dataset: str
    conditions: list[str]
    systems: list[str]
    means: pd.Series
    queries: pd.Series
    paired: pd.DataFrame
    entry: ScorecardEntry
    targets: dict[str, int] = field(default_factory=dict)
    systems_paired: pd.DataFrame = field(default_factory=pd.DataFrame)


def attack_results(table: pd.DataFrame, details: pd.DataFrame | None = None,
                   reference: str | None = None) -> list[AttackTaskResult]:  # fmt: skip
    """The statistics of tasks 4–5 per task and dataset (in task, then table order).

    ``details``: the per-target rows of the attack task (columns ``dataset, system, task, qid, docno, set``), used
    for the number of attacked targets per system; ``reference``: the system the others are paired with
    (:func:`paired_system_table`; the run's baseline).

    Example:
        >>> rows = []
        >>> for system, sr in (("bm25", 0.2), ("knrm", 0.8)):
        ...     rows += [("d", system, "ranking-attack", "prada/easy", q, "success", sr) for q in ("1", "2")]
        >>> t = pd.DataFrame(rows, columns=["dataset", "system", "task", "condition", "qid", "measure", "value"])
        >>> r = attack_results(t)[0]
        >>> r.entry.values.values.tolist()
        [['bm25', 0.2], ['knrm', 0.8]]
    """
    out: list[AttackTaskResult] = []
    for task, title, intro in TASKS:
        rows_t = table[table.task == task]
        if rows_t.empty:
            continue
        for ds, grp in rows_t.groupby("dataset", sort=False):
            means = grp.groupby(["system", "condition", "measure"], sort=False)["value"].mean()
            nq = grp.groupby(["system", "condition"], sort=False)["qid"].nunique()
            success = grp[grp.measure == "success"]
            sr = success.groupby("system", sort=False)["value"].mean()
            samples = {str(s): g.pivot_table(index="qid", columns="condition", values="value", aggfunc="mean", sort=False)
                       for s, g in success.groupby("system", sort=False)}  # fmt: skip
            targets: dict[str, int] = {}
            if details is not None and len(details) and {"task", "docno"} <= set(details.columns):
                sel = details[(details.dataset == ds) & (details.task == task)]
                targets = {str(s): int(len(g.drop_duplicates(["qid", "docno"])))
                           for s, g in sel.groupby("system", sort=False)}  # fmt: skip
            entry = ScorecardEntry(LABELS[task], str(ds), sr.rename("value").reset_index(),
                                   "lowest mean attack success rate", True, "mean", samples, targets)  # fmt: skip
            out.append(AttackTaskResult(task, title, intro, str(ds), list(dict.fromkeys(grp.condition)),
                                        list(dict.fromkeys(grp.system)), means, nq,
                                        paired_attack_table(grp) if task == "ranking-attack" else
                                        paired_attack_table(grp.iloc[:0]), entry, targets,
                                        paired_system_table(grp, reference)))  # fmt: skip
    return out


__all__ = ["AttackTaskResult", "LABELS", "PAIRED_MEASURES", "TASKS", "attack_results", "paired_attack_table",
           "paired_system_table"]
