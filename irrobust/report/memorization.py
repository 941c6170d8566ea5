"""Render the seen / unseen split of learned rankers (``irrobust.evaluate.memorization``) as a report section.

Example:
    >>> memorization_section(pd.DataFrame(), {}, "nDCG@10", "t", "holm", 0.05)
    ''
"""

from __future__ import annotations

import pandas as pd

from irrobust.data.overlap import SeenSplit
from irrobust.evaluate.significance import CORRECTION_NAMES, TEST_NAMES
from irrobust.report.markdown import markdown_table, md_escape


def memorization_section(rows: pd.DataFrame, splits: dict[str, SeenSplit], measure: str, test: str,
                         correction: str, alpha: float) -> str:  # fmt: skip
    """Markdown: per dataset, each system's mean on seen and unseen queries with Δ to the baseline and marks.

    Example:
        >>> memorization_section(pd.DataFrame(), {}, "nDCG@10", "t", "holm", 0.05)
        ''
    """
    if rows is None or rows.empty:
        return ""
    parts = [
        f"## Seen vs unseen relevant documents ({measure})\n",
        "A learned ranker can score well by remembering documents that were relevant for its training queries. "
        "*Seen* queries have at least one relevant document that is also relevant for a training query; *unseen* "
        "queries have none. A gain on seen queries only is memorisation, not better relevance matching. "
        f"▲ / ▼ = significantly better / worse than the baseline within the group ({TEST_NAMES.get(test, test)}, "
        f"{CORRECTION_NAMES.get(correction, correction)} correction per dataset, α = {alpha}). Learned rankers can "
        "train on a document-disjoint split (`train_split: document_disjoint`) to measure the difference.\n",
    ]
    for ds, grp in rows.groupby("dataset", sort=False):
        split = splits.get(ds)
        if split is not None:
            parts.append(f"### {md_escape(ds)}\n\n{len(split.seen)} seen and {len(split.unseen)} unseen queries; "
                         f"{split.shared_docs} of the {split.relevant_docs} documents relevant for these queries "
                         "are also relevant for training queries.\n")  # fmt: skip
        table = []
        for system in dict.fromkeys(grp["system"]):
            cells = [md_escape(system)]
            for group in ("seen", "unseen"):
                r = grp[(grp["system"] == system) & (grp["group"] == group)]
                if r.empty:
                    cells += ["", ""]
                    continue
                r = r.iloc[0]
                mark = (" ▲" if r["delta"] > 0 else " ▼") if r["significant"] else ""
                cells += [f"{r['mean']:.4f}{mark}", f"{r['delta']:+.4f}"]
            table.append(cells)
        n_seen = int(grp.loc[grp["group"] == "seen", "queries"].max()) if (grp["group"] == "seen").any() else 0
        n_unseen = int(grp.loc[grp["group"] == "unseen", "queries"].max()) if (grp["group"] == "unseen").any() else 0
        parts.append(markdown_table(["system", f"seen ({n_seen} q)", "Δ seen", f"unseen ({n_unseen} q)", "Δ unseen"],
                                    table))  # fmt: skip
    return "\n\n".join(parts) + "\n"
