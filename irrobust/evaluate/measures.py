"""Effectiveness measures with ranx, under ir_measures-style names, per query.

Names: ``nDCG@k`` (linear gain, as trec_eval's ``ndcg_cut``), ``R@k`` (recall), ``P@k``,
``MAP@k`` / ``AP`` (average precision), ``RR@k`` / ``RR`` (reciprocal rank), ``nDCG``, ``Hits@k``.
Conventions (stated, not hidden):

* The judged queries are those with at least one relevant document (label > 0); a judged query the
  run did not answer scores 0; run queries without judgements are ignored.
* The run is evaluated in its ``rank`` order (ties were already broken on docno by
  :func:`irrobust.core.transformer.add_ranks`), so a report never disagrees with the ranking.

Example:
    >>> parse_measure("nDCG@10")
    ('nDCG@10', 'ndcg@10')
    >>> parse_measure("R@100")
    ('R@100', 'recall@100')
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from irrobust.errors import ConfigError

_NAMES = {
    "ndcg": ("nDCG", "ndcg"),
    "r": ("R", "recall"),
    "recall": ("R", "recall"),
    "p": ("P", "precision"),
    "precision": ("P", "precision"),
    "map": ("MAP", "map"),
    "ap": ("AP", "map"),
    "rr": ("RR", "mrr"),
    "mrr": ("RR", "mrr"),
    "hits": ("Hits", "hits"),
}
_PATTERN = re.compile(r"^\s*([A-Za-z]+)\s*(?:@\s*(\d+))?\s*$")


def parse_measure(name: str) -> tuple[str, str]:
    """Canonical ir_measures-style name and ranx metric for a measure name.

    Example:
        >>> parse_measure("map@100"), parse_measure("RR@10")
        (('MAP@100', 'map@100'), ('RR@10', 'mrr@10'))
    """
    m = _PATTERN.match(str(name))
    key = m.group(1).lower() if m else None
    if key not in _NAMES:
        allowed = "nDCG@k, R@k, P@k, MAP@k, AP, RR@k, Hits@k, nDCG"
        raise ConfigError(f"unknown measure {name!r}; allowed: {allowed}", where="measures")
    canon, ranx_name = _NAMES[key]
    cutoff = m.group(2)
    if cutoff is not None and int(cutoff) < 1:
        raise ConfigError(f"measure cutoff must be >= 1 in {name!r}", where="measures")
    if cutoff is None and key in ("r", "recall", "p", "precision", "hits"):
        raise ConfigError(f"measure {name!r} needs a cutoff, e.g. {canon}@100", where="measures")
    return (f"{canon}@{cutoff}", f"{ranx_name}@{cutoff}") if cutoff else (canon, ranx_name)


def _qrels_dict(qrels: pd.DataFrame) -> dict[str, dict[str, int]]:
    rel = qrels[qrels["label"] > 0]
    out: dict[str, dict[str, int]] = {}
    for qid, docno, label in zip(
        rel["qid"].astype(str), rel["docno"].astype(str), rel["label"].astype(int), strict=True
    ):
        out.setdefault(qid, {})[docno] = label
    return out


def per_query(results: pd.DataFrame, qrels: pd.DataFrame, measures: Iterable[str]) -> pd.DataFrame:
    """Per-query values of ``measures`` for a run: a table ``qid, measure, value``.

    Example:
        >>> import pandas as pd
        >>> run = pd.DataFrame({"qid": ["1", "1"], "docno": ["a", "b"], "score": [2.0, 1.0], "rank": [1, 2]})
        >>> qrels = pd.DataFrame({"qid": ["1", "2"], "docno": ["b", "c"], "label": [1, 1]})
        >>> per_query(run, qrels, ["RR@10"]).values.tolist()
        [['1', 'RR@10', 0.5], ['2', 'RR@10', 0.0]]
    """
    from ranx import Qrels, Run
    from ranx import evaluate as ranx_evaluate

    parsed = [parse_measure(m) for m in measures]
    qd = _qrels_dict(qrels)
    if not qd:
        raise ConfigError("the qrels have no relevant documents; nothing to evaluate", where="qrels")
    judged = results[results["qid"].astype(str).isin(qd)]
    run: dict[str, dict[str, float]] = {q: {} for q in qd}
    for qid, docno, rank in zip(judged["qid"].astype(str), judged["docno"].astype(str), judged["rank"], strict=True):
        run[qid][docno] = -float(rank)
    if not any(run.values()):  # ranx cannot score an entirely empty run
        values = {c: np.zeros(len(qd)) for c, _ in parsed}
    else:
        ranx_qrels = Qrels(qd)
        order = list(ranx_qrels.keys())  # ranx returns per-query values in its own (sorted) query order
        raw = ranx_evaluate(ranx_qrels, Run(run), [r for _, r in parsed], return_mean=False, make_comparable=True)
        if len(parsed) == 1:
            raw = {parsed[0][1]: raw}
        pos = {q: i for i, q in enumerate(order)}
        values = {c: np.asarray(raw[r], dtype=float)[[pos[q] for q in qd]] for c, r in parsed}
    qids = list(qd)
    frames = [pd.DataFrame({"qid": qids, "measure": c, "value": values[c]}) for c, _ in parsed]
    return pd.concat(frames, ignore_index=True)


def evaluate_run(results: pd.DataFrame, qrels: pd.DataFrame, measures: Iterable[str]) -> dict[str, float]:
    """Mean of each measure over the judged queries (``irrobust.evaluate_run``).

    Example:
        >>> import pandas as pd
        >>> run = pd.DataFrame({"qid": ["1"], "docno": ["a"], "score": [1.0], "rank": [1]})
        >>> evaluate_run(run, pd.DataFrame({"qid": ["1"], "docno": ["a"], "label": [1]}), ["nDCG@10"])
        {'nDCG@10': 1.0}
    """
    pq = per_query(results, qrels, measures)
    return {m: float(v) for m, v in pq.groupby("measure", sort=False)["value"].mean().items()}
