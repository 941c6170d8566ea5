"""Relevant documents shared by training and evaluation queries: the memorisation diagnostic's raw material.

On SciFact, 181 of the 283 documents judged relevant for test queries are also judged relevant for training
queries, and 196 of the 300 test queries have such a document. A learned reranker can score well on those
queries by remembering documents rather than by matching relevance, so reports split evaluation queries into
*seen* (at least one relevant document is relevant for some training query) and *unseen* (none is), and learned
rankers can train on a *document-disjoint* split (training queries whose relevant documents are relevant for
evaluation queries are dropped).

Example:
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"qid": ["1", "2"], "docno": ["a", "b"], "label": [1, 1]})
    >>> tr = pd.DataFrame({"qid": ["9", "8"], "docno": ["a", "c"], "label": [1, 1]})
    >>> s = seen_split(ev, tr); (s.seen, s.unseen)
    (('1',), ('2',))
    >>> disjoint_training_qids(tr, ev)
    ('8',)
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


def _relevant(qrels: pd.DataFrame) -> pd.DataFrame:
    rel = qrels[qrels["label"].astype(float) > 0]
    return pd.DataFrame({"qid": rel["qid"].astype(str), "docno": rel["docno"].astype(str)})


@dataclass(frozen=True)
class SeenSplit:
    """Evaluation queries with (``seen``) and without (``unseen``) a training-relevant relevant document.

    ``shared_docs`` counts the evaluation-relevant documents that are also training-relevant, out of
    ``relevant_docs``; queries without any relevant document are in neither group.
    """

    seen: tuple[str, ...]
    unseen: tuple[str, ...]
    shared_docs: int
    relevant_docs: int

    def group_of(self, qid: str) -> str | None:
        """``"seen"``, ``"unseen"`` or None for a query without relevant documents.

        Example:
            >>> SeenSplit(("1",), ("2",), 1, 2).group_of("2")
            'unseen'
        """
        if qid in self.seen:
            return "seen"
        return "unseen" if qid in self.unseen else None


def seen_split(eval_qrels: pd.DataFrame, train_qrels: pd.DataFrame) -> SeenSplit:
    """Split the evaluation queries by whether one of their relevant documents is relevant for a training query.

    Example:
        >>> import pandas as pd
        >>> q = pd.DataFrame({"qid": ["1"], "docno": ["a"], "label": [2]})
        >>> seen_split(q, q).seen
        ('1',)
    """
    ev, tr = _relevant(eval_qrels), _relevant(train_qrels)
    train_docs = set(tr["docno"])
    shared = ev["docno"].isin(train_docs)
    seen = set(ev.loc[shared, "qid"])
    unseen = set(ev["qid"]) - seen
    eval_docs = set(ev["docno"])
    return SeenSplit(tuple(sorted(seen)), tuple(sorted(unseen)), len(eval_docs & train_docs), len(eval_docs))


def disjoint_training_qids(train_qrels: pd.DataFrame, eval_qrels: pd.DataFrame) -> tuple[str, ...]:
    """Training queries none of whose relevant documents is relevant for an evaluation query (sorted qids).

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"qid": ["1", "2"], "docno": ["a", "b"], "label": [1, 0]})
        >>> disjoint_training_qids(t, pd.DataFrame({"qid": ["9"], "docno": ["a"], "label": [1]}))
        ('2',)
    """
    tr, ev = _relevant(train_qrels), _relevant(eval_qrels)
    touched = set(tr.loc[tr["docno"].isin(set(ev["docno"])), "qid"])
    every = set(train_qrels["qid"].astype(str))
    return tuple(sorted(every - touched))
