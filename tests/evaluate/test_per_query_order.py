"""Per-query values are aligned with their query ids whatever the qrels order (ranx sorts query ids)."""

from __future__ import annotations

import pandas as pd

from irrobust.evaluate.measures import per_query


def test_per_query_values_follow_their_qids():
    run = pd.DataFrame({"qid": ["b", "b", "a", "a"], "docno": ["x", "y", "z", "w"], "score": [2, 1, 2, 1],
                        "rank": [1, 2, 1, 2]})  # fmt: skip
    qrels = pd.DataFrame({"qid": ["b", "a", "c"], "docno": ["x", "w", "q"], "label": [1, 1, 1]})
    got = dict(zip(per_query(run, qrels, ["RR@10"])["qid"], per_query(run, qrels, ["RR@10"])["value"], strict=True))
    assert got == {"b": 1.0, "a": 0.5, "c": 0.0}
