"""Report section of the certification task (CertDR): CRQ@K tables, clean effectiveness, scorecard entries.

Reads only the long results table (tasks ``certify`` and ``certify-clean``, see
:mod:`irrobust.pipeline.certify_task`).

Example:
    >>> rows = [("d", "bm25", "certify", "paper-hoeffding-Rall", "1", "CRQ@1", 1.0),
    ...         ("d", "bm25", "certify", "paper-hoeffding-Rall", "2", "CRQ@1", 0.0),
    ...         ("d", "knrm", "certify", "paper-hoeffding-Rall", "1", "CRQ@1", 0.0)]
    >>> t = pd.DataFrame(rows, columns=["dataset", "system", "task", "condition", "qid", "measure", "value"])
    >>> parts, card = certify_sections(t, {"bm25": "lexical"})
    >>> card[0][2].value.tolist()
    [0.5, 0.0]
"""

from __future__ import annotations

import re

import pandas as pd

from irrobust.report.markdown import markdown_table

INTRO = (
    "CertDR (Wu et al., CIKM 2022): each system's top-`depth` list is re-ranked by the smoothed score "
    "ĝ(q, d) = mean bounded score over N random synonym substitutions of d, and a query is *certified at K* when no "
    "document below rank K can enter the top K by substituting at most R words with their synonyms (the attacker "
    "edits one document of the list). CRQ@K is the share of certified queries. `R=all` is the paper's setting (any "
    "number of words). N, α, bound, R and seed of every certificate are in `certify/certificates.csv`.\n\n"
    "What each condition certifies:\n\n"
    + "\n".join(f"* {line}" for line in (
        "`max-hoeffding`, `max-bernstein`: with probability ≥ 1 − α over the sampling, every certified K of the "
        "query holds at once — the Monte Carlo error of every document of the list is bounded (per-document "
        "confidence bounds, Bonferroni over the list; `bernstein` is the smaller of the empirical Bernstein and the "
        "Hoeffding bound, each at half the level).",
        "`paper-hoeffding`: the paper's rule, reproduced for comparison. It bounds the Monte Carlo error **only for "
        "the compared pair** (ranks K and K+1); the other documents below K enter with their estimates, so it is not "
        "a certificate of the list at level α.",
        "`exact`: the deterministic BM25 certificate (no sampling) under a frozen index: N, document frequencies and "
        "the average length are those of the unattacked collection, only documents of the candidate list are "
        "considered, and a query term absent from the index scores nothing even if the attack adds it.",
        "`exact-reindexed`: the BM25 certificate that also holds when the attacked collection is re-indexed "
        "(document frequencies, average length, N and unseen query terms change with the edit); still only "
        "documents of the candidate list.",
    ))
)
#: the caveat printed under every CRQ table that has paper-rule rows
PAPER_NOTE = ("`paper-hoeffding` rows: Monte Carlo error bounded for the compared pair (ranks K, K+1) only — not a "
              "certificate of the list at level α; `max-*` rows bound every document of the list.")  # fmt: skip


def _k(measure: str) -> int:
    m = re.match(r"CRQ@(\d+)$", measure)
    return int(m.group(1)) if m else 0


def cost_table(details: pd.DataFrame, dataset: str) -> str:
    """Per system of ``dataset``: the sampling settings and cost from ``certify/certificates.csv`` rows.

    N is the (maximum) number of samples per document, "samples/doc" the mean actually drawn (smaller than N
    when adaptive sampling stopped early), α the failure probability per query, "seconds" the compute time summed
    over the certified queries (each query's time is kept in its checkpoint).

    Example:
        >>> d = pd.DataFrame({"dataset": "d", "system": "bm25", "kind": "bm25", "qid": ["1", "1", "2"],
        ...                   "n_samples": 100, "samples_per_doc": [100, 100, 50], "alpha": 0.05, "adaptive": False,
        ...                   "seconds": [2.0, 2.0, 1.0]})
        >>> print(cost_table(d, "d").splitlines()[-1])
        | bm25 | sampled | 100 | 75.0 | 0.05 | fixed | 2 | 3.0 |
    """
    rows = []
    sel = details[details.dataset == dataset]
    for (system, kind), grp in sel.groupby(["system", "kind"], sort=False):
        per_q = grp.drop_duplicates("qid")
        if kind == "bm25-exact":
            rows.append([system, "exact (no sampling)", "—", "—", "—", "—", str(len(per_q)),
                         f"{per_q.seconds.sum():.1f}"])  # fmt: skip
            continue
        mode = "adaptive" if bool(per_q.adaptive.iloc[0]) else "fixed"
        rows.append([system, "sampled", str(int(per_q.n_samples.max())), f"{per_q.samples_per_doc.mean():.1f}",
                     f"{per_q.alpha.iloc[0]:g}", mode, str(len(per_q)), f"{per_q.seconds.sum():.1f}"])  # fmt: skip
    return markdown_table(["system", "certificate", "N", "samples/doc", "α", "sampling", "queries", "seconds"], rows)


def certify_sections(table: pd.DataFrame, families: dict[str, str], details: pd.DataFrame | None = None) -> tuple[list[str], list[tuple[str, str, pd.DataFrame, str, bool]]]:  # fmt: skip
    """Markdown sections and scorecard entries ``(task, dataset, frame(system, value), criterion, lower_is_better)``.

    ``details`` (the rows of ``certify/certificates.csv``) adds a table of N, samples drawn, α and compute time.

    The scorecard compares systems by the mean of CRQ@K over the K ≤ 10 of the grid (the area under the CRQ curve;
    CRQ@10 alone is 0 for every system in most runs) under the tightest sampled rule (``max-bernstein``, else the
    first sampled condition) at the smallest budget R present.

    Example:
        >>> certify_sections(pd.DataFrame(columns=["dataset", "system", "task", "condition", "qid", "measure",
        ...                                        "value"]), {})
        ([], [])
    """
    rows = table[table.task == "certify"]
    if rows.empty:
        return [], []
    section = ["## Certified robustness (CertDR)\n", INTRO + "\n"]
    card: list[tuple[str, str, pd.DataFrame, str, bool]] = []
    means = rows.groupby(["dataset", "system", "condition", "measure"], sort=False)["value"].mean()
    nq = rows.groupby(["dataset", "system", "condition"], sort=False)["qid"].nunique()
    for ds, grp in rows.groupby("dataset", sort=False):
        ks = sorted({_k(m) for m in grp.measure})
        lines = []
        for s in dict.fromkeys(grp.system):
            for cond in dict.fromkeys(grp[grp.system == s].condition):
                cells = [s, families.get(s, ""), cond]
                cells += [f"{means.get((ds, s, cond, f'CRQ@{k}'), float('nan')):.3f}" for k in ks]
                cells.append(str(int(nq[(ds, s, cond)])))
                lines.append(cells)
        section.append(f"### {ds}: CRQ@K\n\n" + markdown_table(["system", "family", "condition",
                                                                  *[f"CRQ@{k}" for k in ks], "queries"], lines))  # fmt: skip
        if any(str(c).startswith("paper-") for c in grp.condition):
            section.append(PAPER_NOTE)
        if details is not None and "seconds" in details.columns and (details.dataset == ds).any():
            section.append(f"### {ds}: sampling and cost\n\n" + cost_table(details, ds))
        clean = table[(table.task == "certify-clean") & (table.dataset == ds)]
        if not clean.empty:
            cm = clean.groupby(["system", "condition", "measure"], sort=False)["value"].mean()
            measures = list(dict.fromkeys(clean.measure))
            clines = []
            for s in dict.fromkeys(clean.system):
                cells = [s, families.get(s, "")]
                for m in measures:
                    b, g = cm.get((s, "base", m), float("nan")), cm.get((s, "smoothed", m), float("nan"))
                    cells += [f"{b:.4f}", f"{g:.4f}", f"{g - b:+.4f}"]
                clines.append(cells)
            heads = ["system", "family"] + [f"{m} {x}" for m in measures for x in ("base", "smoothed", "Δ")]
            section.append(f"### {ds}: clean effectiveness of the certified lists, base vs smoothed\n\n"
                           + markdown_table(heads, clines))  # fmt: skip
        k10 = max([k for k in ks if k <= 10] or ks)
        conds = list(dict.fromkeys(grp.condition))
        sampled = [c for c in conds if c.startswith("max-bernstein")] or [c for c in conds if not c.startswith("exact")]
        if sampled:

            def budget(c: str) -> float:
                r = c.rsplit("-R", 1)[-1]
                return float("inf") if r == "all" else float(r)

            cond = min(sampled, key=budget)
            upto = [f"CRQ@{k}" for k in ks if k <= k10]
            sel = grp[(grp.condition == cond) & grp.measure.isin(upto)]
            frame = (sel.groupby(["system", "measure"], sort=False)["value"].mean().groupby("system", sort=False)
                     .mean().rename("value").reset_index())  # fmt: skip
            label = f"mean CRQ@1–{k10}" if len(upto) > 1 else f"CRQ@{k10}"
            if frame["value"].nunique() > 1:
                card.append(("Certified robustness (CertDR)", ds, frame, f"highest {label} ({cond})", False))
            elif len(frame):
                section.append(f"No scorecard entry for {ds}: every system has {label} = "
                               f"{frame['value'].iloc[0]:.3f} under `{cond}`.")  # fmt: skip
    return ["\n\n".join(section) + "\n"], card


__all__ = ["INTRO", "PAPER_NOTE", "certify_sections", "cost_table"]
