"""Per-query candidate lists of a system, the unit that attacks and certification work on.

Example:
    >>> from irrobust.pipeline.lists import top_lists
    >>> lists = top_lists(bm25, ds.queries.head(2), ds, depth=100)   # doctest: +SKIP
    >>> sorted(lists[0])                                              # doctest: +SKIP
    ['docnos', 'qid', 'query', 'scores', 'texts']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def top_lists(system: Any, queries: pd.DataFrame, ds: Any, depth: int) -> list[dict[str, Any]]:
    """Run ``system`` on ``queries``; per query (with at least 2 results) its top ``depth``: qid, query, docnos, texts,
    and the system's scores, in the system's rank order.

    Example:
        >>> top_lists(bm25, ds.queries.head(1), ds, depth=10)[0]["docnos"][:2]   # doctest: +SKIP
        ['4983', '5836']
    """
    run = system(queries)
    out = []
    for qid, query in zip(queries["qid"].astype(str), queries["query"].astype(str), strict=True):
        top = run[run["qid"].astype(str) == qid].sort_values("rank", kind="mergesort").head(depth)
        if len(top) < 2:
            continue
        docnos = top["docno"].astype(str).tolist()
        out.append({"qid": qid, "query": query, "docnos": docnos, "texts": ds.docs.texts(docnos),
                    "scores": top["score"].to_numpy(dtype=np.float64)})  # fmt: skip
    return out
