"""Report section of the certification task (CertDR): CRQ@K tables, sampling cost, clean effectiveness.

Renders :class:`irrobust.evaluate.certify.CertifyResult` objects (computed by
:func:`irrobust.evaluate.certify.certify_results` from the results table and the certificate rows in memory).

Example:
    >>> import pandas as pd
    >>> from irrobust.evaluate.certify import certify_results
    >>> rows = [("d", "bm25", "certify", "paper-hoeffding-Rall", "1", "CRQ@1", 1.0),
    ...         ("d", "bm25", "certify", "paper-hoeffding-Rall", "2", "CRQ@1", 0.0)]
    >>> t = pd.DataFrame(rows, columns=["dataset", "system", "task", "condition", "qid", "measure", "value"])
    >>> "| bm25 | lexical | paper-hoeffding-Rall | 0.500 | 2 |" in certify_sections(certify_results(t), {"bm25": "lexical"})[0]
    True
"""

from __future__ import annotations

from irrobust.evaluate.certify import CertifyResult
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


def cost_table(rows: list[dict[str, object]]) -> str:
    """The sampling settings and cost per system (:func:`irrobust.evaluate.certify.cost_rows`) as a markdown table.

    Example:
        >>> print(cost_table([{"system": "bm25", "exact": False, "queries": 2, "seconds": 3.0, "n_samples": 100,
        ...                    "samples_per_doc": 75.0, "alpha": 0.05, "adaptive": False}]).splitlines()[-1])
        | bm25 | sampled | 100 | 75.0 | 0.05 | fixed | 2 | 3.0 |
    """
    lines = []
    for r in rows:
        if r["exact"]:
            lines.append([str(r["system"]), "exact (no sampling)", "—", "—", "—", "—", str(r["queries"]),
                          f"{r['seconds']:.1f}"])  # fmt: skip
            continue
        lines.append([str(r["system"]), "sampled", str(r["n_samples"]), f"{r['samples_per_doc']:.1f}",
                      f"{r['alpha']:g}", "adaptive" if r["adaptive"] else "fixed", str(r["queries"]),
                      f"{r['seconds']:.1f}"])  # fmt: skip
    return markdown_table(["system", "certificate", "N", "samples/doc", "α", "sampling", "queries", "seconds"], lines)


def certify_sections(results: list[CertifyResult], families: dict[str, str]) -> list[str]:
    """The certification section (one part per dataset inside), or nothing without certificates.

    Example:
        >>> certify_sections([], {})
        []
    """
    if not results:
        return []
    section = ["## Certified robustness (CertDR)\n", INTRO + "\n"]
    for r in results:
        ds, ks = r.dataset, r.ks
        lines = []
        for s, cond in r.rows:
            cells = [s, families.get(s, ""), cond]
            cells += [f"{r.crq.get((s, cond, f'CRQ@{k}'), float('nan')):.3f}" for k in ks]
            cells.append(str(int(r.queries[(s, cond)])))
            lines.append(cells)
        section.append(f"### {ds}: CRQ@K\n\n" + markdown_table(["system", "family", "condition",
                                                                  *[f"CRQ@{k}" for k in ks], "queries"], lines))  # fmt: skip
        if r.has_paper_rule:
            section.append(PAPER_NOTE)
        if r.cost is not None:
            section.append(f"### {ds}: sampling and cost\n\n" + cost_table(r.cost))
        if r.clean is not None:
            clines = []
            for s in r.clean_systems:
                cells = [s, families.get(s, "")]
                for m in r.clean_measures:
                    b, g = r.clean.get((s, "base", m), float("nan")), r.clean.get((s, "smoothed", m), float("nan"))
                    cells += [f"{b:.4f}", f"{g:.4f}", f"{g - b:+.4f}"]
                clines.append(cells)
            heads = ["system", "family"] + [f"{m} {x}" for m in r.clean_measures for x in ("base", "smoothed", "Δ")]
            section.append(f"### {ds}: clean effectiveness of the certified lists, base vs smoothed\n\n"
                           + markdown_table(heads, clines))  # fmt: skip
        if r.no_entry:
            section.append(r.no_entry)
    return ["\n\n".join(section) + "\n"]


__all__ = ["INTRO", "PAPER_NOTE", "certify_sections", "cost_table"]
