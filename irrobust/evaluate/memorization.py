"""Seen vs unseen relevant documents: does a learned ranker match relevance, or remember documents?

For an evaluation dataset with a training split, :func:`irrobust.data.overlap.seen_split` divides the evaluation
queries into *seen* (one of their relevant documents is relevant for a training query) and *unseen*. This module
compares each system with the baseline inside each group (paired test over the group's queries, corrected over
systems × groups per dataset), so that a report shows when a learned ranker's gain comes from the seen queries
only — on SciFact, BM25>>KNRM scores nDCG@10 0.823 on the 196 seen queries but 0.629 on the 104 unseen ones,
below BM25's 0.674 there.

Example:
    >>> import pandas as pd
    >>> from irrobust.data.overlap import SeenSplit
    >>> t = pd.DataFrame({"dataset": "d", "system": ["b", "b", "x", "x"], "task": "effectiveness",
    ...                   "condition": "clean", "qid": ["1", "2", "1", "2"], "measure": "nDCG@10",
    ...                   "value": [0.5, 0.5, 0.9, 0.1]})
    >>> r = seen_unseen_comparison(t, {"d": SeenSplit(("1",), ("2",), 1, 2)}, "b", "nDCG@10")
    >>> r.set_index(["system", "group"])["mean"].round(2).to_dict()
    {('b', 'seen'): 0.5, ('x', 'seen'): 0.9, ('b', 'unseen'): 0.5, ('x', 'unseen'): 0.1}
"""

from __future__ import annotations

import pandas as pd

from irrobust.data.overlap import SeenSplit
from irrobust.evaluate.significance import correct, paired_test

#: columns of :func:`seen_unseen_comparison`'s table
COLUMNS = ["dataset", "system", "group", "queries", "mean", "baseline_mean", "delta", "p_value", "p_adjusted",
           "significant"]  # fmt: skip


def seen_unseen_comparison(table: pd.DataFrame, splits: dict[str, SeenSplit], baseline: str, measure: str,
                           test: str = "t", correction: str = "holm", alpha: float = 0.05) -> pd.DataFrame:  # fmt: skip
    """Per dataset, system and group (seen / unseen): mean of ``measure``, Δ to the baseline, corrected p-value.

    ``table`` is the long results table; only its clean effectiveness rows are used. Datasets without a split are
    skipped; the baseline's own rows carry no test (p = 1).

    Example:
        >>> seen_unseen_comparison(pd.DataFrame(columns=COLUMNS), {}, "bm25", "nDCG@10").empty
        True
    """
    if table.empty or not splits:
        return pd.DataFrame(columns=COLUMNS)
    eff = table[(table["task"] == "effectiveness") & (table["condition"] == "clean") & (table["measure"] == measure)]
    rows: list[dict] = []
    for ds, split in splits.items():
        data = eff[eff["dataset"] == ds]
        if data.empty or baseline not in set(data["system"]):
            continue
        wide = data.pivot_table(index="qid", columns="system", values="value", aggfunc="first")
        wide.index = wide.index.astype(str)
        start = len(rows)
        for group, qids in (("seen", split.seen), ("unseen", split.unseen)):
            sub = wide.loc[wide.index.intersection(list(qids))]
            if sub.empty:
                continue
            base = sub[baseline].to_numpy(dtype=float)
            for system in dict.fromkeys(data["system"]):
                vals = sub[system].to_numpy(dtype=float)
                p = 1.0 if system == baseline else paired_test(vals, base, test)[1]
                rows.append({"dataset": ds, "system": system, "group": group, "queries": len(sub),
                             "mean": float(vals.mean()), "baseline_mean": float(base.mean()),
                             "delta": float(vals.mean() - base.mean()), "p_value": p})  # fmt: skip
        tested = [i for i in range(start, len(rows)) if rows[i]["system"] != baseline]
        adjusted = correct([rows[i]["p_value"] for i in tested], correction) if tested else []
        for i in range(start, len(rows)):
            rows[i]["p_adjusted"] = 1.0
            rows[i]["significant"] = False
        for i, p in zip(tested, adjusted, strict=True):
            rows[i]["p_adjusted"] = float(p)
            rows[i]["significant"] = bool(p < alpha)
    return pd.DataFrame(rows, columns=COLUMNS)
