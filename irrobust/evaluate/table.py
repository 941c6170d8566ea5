"""The one long results table and what is derived from it.

Every evaluation writes rows ``dataset, system, task, condition, qid, measure, value``
(``condition`` = ``clean``, a shift name, an attack name, a certification setting). Summaries,
significance tests and reports are computed from it, so every reported number traces back to
per-query rows.

Example:
    >>> import pandas as pd
    >>> pq = pd.DataFrame({"qid": ["1", "2"], "measure": ["nDCG@10"] * 2, "value": [0.5, 1.0]})
    >>> t = long_rows(pq, dataset="d", system="bm25")
    >>> summarize(t)[["system", "measure", "value"]].values.tolist()
    [['bm25', 'nDCG@10', 0.75]]
"""

from __future__ import annotations

import pandas as pd

from irrobust.errors import IrrobustError
from irrobust.evaluate.significance import TEST_NAMES, correct, paired_test

COLUMNS = ["dataset", "system", "task", "condition", "qid", "measure", "value"]
KEYS = ["dataset", "system", "task", "condition", "measure"]


def long_rows(per_query: pd.DataFrame, dataset: str, system: str, task: str = "effectiveness",
              condition: str = "clean") -> pd.DataFrame:  # fmt: skip
    """Label a per-query table (``qid, measure, value``) into long-table rows.

    Example:
        >>> import pandas as pd
        >>> long_rows(pd.DataFrame({"qid": ["1"], "measure": ["R@100"], "value": [1.0]}), "d", "s").columns.tolist()
        ['dataset', 'system', 'task', 'condition', 'qid', 'measure', 'value']
    """
    out = per_query.assign(dataset=dataset, system=system, task=task, condition=condition)
    return out[COLUMNS].reset_index(drop=True)


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Mean value per ``dataset, system, task, condition, measure`` (input order kept).

    Example:
        >>> summarize(pd.DataFrame(columns=COLUMNS)).empty
        True
    """
    if table.empty:
        return pd.DataFrame(columns=KEYS + ["value"])
    return table.groupby(KEYS, sort=False, as_index=False)["value"].mean()


def compare(table: pd.DataFrame, baseline: str, test: str = "t", correction: str = "holm",
            alpha: float = 0.05) -> pd.DataFrame:  # fmt: skip
    """Each system against ``baseline`` on paired per-query values, with a multiple-testing correction.

    A family is one ``(dataset, task, condition, measure)``; its p-values (one per non-baseline
    system) are adjusted together. Queries are paired by ``qid``; only queries both systems have
    are used.

    Example:
        >>> import pandas as pd
        >>> t = pd.concat([long_rows(pd.DataFrame({"qid": list("abcd"), "measure": "m", "value": v}), "d", s)
        ...                for s, v in [("base", [.1, .2, .3, .4]), ("new", [.3, .4, .5, .7])]])
        >>> row = compare(t, "base").iloc[0]
        >>> row.system, round(float(row.delta), 3), bool(row.significant)
        ('new', 0.225, True)
    """
    if baseline not in set(table["system"]):
        raise IrrobustError(f"baseline system {baseline!r} is not among {sorted(set(table['system']))}")
    rows = []
    for (ds, task, cond, measure), fam in table.groupby(["dataset", "task", "condition", "measure"], sort=False):
        base = fam[fam.system == baseline].set_index("qid")["value"]
        if base.empty:
            continue
        family = []
        for system, grp in fam[fam.system != baseline].groupby("system", sort=False):
            vals = grp.set_index("qid")["value"]
            common = base.index.intersection(vals.index)
            stat, p = paired_test(vals.loc[common].to_numpy(), base.loc[common].to_numpy(), test)
            family.append({
                "dataset": ds, "task": task, "condition": cond, "measure": measure, "system": system,
                "baseline": baseline, "mean": float(vals.loc[common].mean()),
                "baseline_mean": float(base.loc[common].mean()),
                "delta": float(vals.loc[common].mean() - base.loc[common].mean()),
                "n": int(len(common)), "statistic": stat, "p_value": p,
            })  # fmt: skip
        adjusted = correct([r["p_value"] for r in family], correction)
        for r, p_adj in zip(family, adjusted, strict=True):
            r.update(p_adjusted=p_adj, significant=bool(p_adj < alpha), test=TEST_NAMES[test], correction=correction)
            rows.append(r)
    return pd.DataFrame(rows)


def compare_conditions(table: pd.DataFrame, task: str, reference: str = "clean", test: str = "t",
                       correction: str = "holm", alpha: float = 0.05) -> pd.DataFrame:  # fmt: skip
    """Each system under each condition of ``task`` against the same system under ``reference``, paired by qid.

    The reference rows are the ``effectiveness``/``reference`` rows of the same dataset, system and measure.
    A family is one ``(dataset, task, measure)``: all systems × conditions are corrected together.
    ``relative_drop`` = (reference − condition) / reference (positive = worse under the condition).

    Example:
        >>> clean = pd.DataFrame({"qid": list("abcd"), "measure": "m", "value": [.5, .6, .7, .8]})
        >>> t = pd.concat([long_rows(clean, "d", "s"),
        ...                long_rows(clean.assign(value=clean.value - .1), "d", "s", "query-shift", "typos")])
        >>> r = compare_conditions(t, "query-shift").iloc[0]
        >>> r.condition, round(float(r.delta), 3), round(float(r.relative_drop), 3), bool(r.significant)
        ('typos', -0.1, 0.154, True)
    """
    ref = table[(table.task == "effectiveness") & (table.condition == reference)]
    rows = []
    for (ds, measure), fam in table[table.task == task].groupby(["dataset", "measure"], sort=False):
        family = []
        for (system, cond), grp in fam.groupby(["system", "condition"], sort=False):
            base = ref[(ref.dataset == ds) & (ref.system == system) & (ref.measure == measure)].set_index("qid")[
                "value"
            ]
            vals = grp.set_index("qid")["value"]
            common = base.index.intersection(vals.index)
            if len(common) == 0:
                continue
            b, v = base.loc[common], vals.loc[common]
            stat, p = paired_test(v.to_numpy(), b.to_numpy(), test)
            bm = float(b.mean())
            family.append({
                "dataset": ds, "task": task, "condition": cond, "measure": measure, "system": system,
                "reference": reference, "mean": float(v.mean()), "reference_mean": bm, "delta": float(v.mean() - bm),
                "relative_drop": (bm - float(v.mean())) / bm if bm else 0.0, "n": int(len(common)),
                "statistic": stat, "p_value": p,
            })  # fmt: skip
        for r, p_adj in zip(family, correct([r["p_value"] for r in family], correction), strict=True):
            r.update(p_adjusted=p_adj, significant=bool(p_adj < alpha), test=TEST_NAMES[test], correction=correction)
            rows.append(r)
    return pd.DataFrame(rows)
