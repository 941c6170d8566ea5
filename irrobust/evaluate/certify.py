"""Statistics of the certification task (CertDR): CRQ@K means, clean effectiveness of the smoothed rankers, the
sampling cost per system, and the scorecard entry.

Computed from the long results table (tasks ``certify`` and ``certify-clean``) and the per-certificate rows the
certification task returns (the rows of ``certify/certificates.csv``), in memory.

The scorecard compares systems by the mean of CRQ@K over the K ≤ 10 of the grid (the area under the CRQ curve;
CRQ@10 alone is 0 for every system in most runs) under the tightest sampled rule (``max-bernstein``, else the first
sampled condition) at the smallest budget R present.

Example:
    >>> rows = [("d", "bm25", "certify", "max-bernstein-Rall", "1", "CRQ@1", 1.0),
    ...         ("d", "bm25", "certify", "max-bernstein-Rall", "2", "CRQ@1", 0.0),
    ...         ("d", "knrm", "certify", "max-bernstein-Rall", "1", "CRQ@1", 0.0)]
    >>> t = pd.DataFrame(rows, columns=["dataset", "system", "task", "condition", "qid", "measure", "value"])
    >>> certify_results(t)[0].entry.values.value.tolist()
    [0.5, 0.0]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from irrobust.evaluate.scorecard import ScorecardEntry


def crq_k(measure: str) -> int:
    """K of a ``CRQ@K`` measure name (0 for anything else).

    Example:
        >>> crq_k("CRQ@10"), crq_k("nDCG@10")
        (10, 0)
    """
    m = re.match(r"CRQ@(\d+)$", measure)
    return int(m.group(1)) if m else 0


def cost_rows(details: pd.DataFrame, dataset: str) -> list[dict[str, object]]:
    """Per system of ``dataset``: the sampling settings and cost from the per-certificate rows.

    N is the (maximum) number of samples per document, ``samples_per_doc`` the mean actually drawn (smaller than
    N when adaptive sampling stopped early), α the failure probability per query, ``seconds`` the compute time
    summed over the certified queries (each query's time is kept in its checkpoint).

    Example:
        >>> d = pd.DataFrame({"dataset": "d", "system": "bm25", "kind": "bm25", "qid": ["1", "1", "2"],
        ...                   "n_samples": 100, "samples_per_doc": [100, 100, 50], "alpha": 0.05, "adaptive": False,
        ...                   "seconds": [2.0, 2.0, 1.0]})
        >>> cost_rows(d, "d")[0]["samples_per_doc"]
        75.0
    """
    rows: list[dict[str, object]] = []
    sel = details[details.dataset == dataset]
    for (system, kind), grp in sel.groupby(["system", "kind"], sort=False):
        per_q = grp.drop_duplicates("qid")
        row: dict[str, object] = {"system": system, "exact": kind == "bm25-exact", "queries": len(per_q),
                                  "seconds": float(per_q.seconds.sum())}  # fmt: skip
        if kind != "bm25-exact":
            row.update(n_samples=int(per_q.n_samples.max()), samples_per_doc=float(per_q.samples_per_doc.mean()),
                       alpha=float(per_q.alpha.iloc[0]), adaptive=bool(per_q.adaptive.iloc[0]))  # fmt: skip
        rows.append(row)
    return rows


@dataclass
class CertifyResult:
    """Certification of one dataset.

    ``crq`` is indexed by ``(system, condition, measure)`` (mean CRQ@K over queries), ``queries`` by
    ``(system, condition)``; ``rows`` lists the (system, condition) pairs in table order; ``clean`` holds the
    clean effectiveness of the certified lists (index ``(system, condition, measure)``, conditions ``base`` and
    ``smoothed``); ``cost`` the per-system sampling cost (:func:`cost_rows`, ``None`` without certificate rows);
    ``entry`` the scorecard entry (``None`` when every system has the same value, explained in ``no_entry``).

    Example:
        >>> certify_results(pd.DataFrame(columns=["dataset", "system", "task", "condition", "qid", "measure",
        ...                                       "value"]))
        []
    """

    dataset: str
    ks: list[int]
    rows: list[tuple[str, str]]
    crq: pd.Series
    queries: pd.Series
    has_paper_rule: bool
    clean: pd.Series | None
    clean_systems: list[str]
    clean_measures: list[str]
    cost: list[dict[str, object]] | None
    entry: ScorecardEntry | None
    no_entry: str | None


def certify_results(table: pd.DataFrame, details: pd.DataFrame | None = None) -> list[CertifyResult]:
    """The certification statistics per dataset (table order); empty without ``certify`` rows.

    Example:
        >>> rows = [("d", s, "certify", "max-bernstein-R1", q, f"CRQ@{k}", v) for s, v in (("a", 1.0), ("b", 0.0))
        ...         for q in ("1", "2") for k in (1, 2)]
        >>> t = pd.DataFrame(rows, columns=["dataset", "system", "task", "condition", "qid", "measure", "value"])
        >>> r = certify_results(t)[0]
        >>> r.entry.criterion, r.entry.certified
        ('highest mean CRQ@1–2 (max-bernstein-R1)', {'a': 2, 'b': 2})
    """
    rows = table[table.task == "certify"]
    if rows.empty:
        return []
    out = []
    crq = rows.groupby(["dataset", "system", "condition", "measure"], sort=False)["value"].mean()
    nq = rows.groupby(["dataset", "system", "condition"], sort=False)["qid"].nunique()
    for ds, grp in rows.groupby("dataset", sort=False):
        ks = sorted({crq_k(m) for m in grp.measure})
        pairs = [(s, c) for s in dict.fromkeys(grp.system) for c in dict.fromkeys(grp[grp.system == s].condition)]
        cost = None
        if details is not None and "seconds" in details.columns and (details.dataset == ds).any():
            cost = cost_rows(details, str(ds))
        clean = table[(table.task == "certify-clean") & (table.dataset == ds)]
        cm = clean.groupby(["system", "condition", "measure"], sort=False)["value"].mean() if len(clean) else None
        entry, note = _entry(str(ds), grp, ks)
        out.append(CertifyResult(str(ds), ks, pairs, crq.xs(ds, level="dataset"), nq.xs(ds, level="dataset"),
                                 any(str(c).startswith("paper-") for c in grp.condition), cm,
                                 list(dict.fromkeys(clean.system)), list(dict.fromkeys(clean.measure)), cost, entry,
                                 note))  # fmt: skip
    return out


def _budget(condition: str) -> float:
    r = condition.rsplit("-R", 1)[-1]
    return float("inf") if r == "all" else float(r)


def _entry(ds: str, grp: pd.DataFrame, ks: list[int]) -> tuple[ScorecardEntry | None, str | None]:
    k10 = max([k for k in ks if k <= 10] or ks)
    conds = list(dict.fromkeys(grp.condition))
    sampled = [c for c in conds if c.startswith("max-bernstein")] or [c for c in conds if not c.startswith("exact")]
    if not sampled:
        return None, None
    cond = min(sampled, key=_budget)
    upto = [f"CRQ@{k}" for k in ks if k <= k10]
    sel = grp[(grp.condition == cond) & grp.measure.isin(upto)]
    frame = (sel.groupby(["system", "measure"], sort=False)["value"].mean().groupby("system", sort=False)
             .mean().rename("value").reset_index())  # fmt: skip
    label = f"mean CRQ@1–{k10}" if len(upto) > 1 else f"CRQ@{k10}"
    if frame["value"].nunique() > 1:
        samples = {str(s): g.pivot_table(index="qid", columns="measure", values="value", aggfunc="mean", sort=False)
                   for s, g in sel.groupby("system", sort=False)}  # fmt: skip
        certified = {s: len(f) for s, f in samples.items()}
        return ScorecardEntry("Certified robustness (CertDR)", ds, frame, f"highest {label} ({cond})", False, "mean",
                              samples, certified=certified), None  # fmt: skip
    if len(frame):
        return None, (f"No scorecard entry for {ds}: every system has {label} = "
                      f"{frame['value'].iloc[0]:.3f} under `{cond}`.")  # fmt: skip
    return None, None


__all__ = ["CertifyResult", "certify_results", "cost_rows", "crq_k"]
