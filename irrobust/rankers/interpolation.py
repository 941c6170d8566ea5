"""Linear interpolation of a reranker's score with the first-stage retrieval score, weight fitted on held-out queries.

Reranking with a neural model trained on a small collection loses the exact-match evidence BM25 carries;
interpolating the two scores is the standard remedy of the BERT reranking literature (Yang, Zhang & Lin,
"Simple Applications of BERT for Ad Hoc Document Retrieval", 2019; Wang, Zhuang & Zuccon, "BERT-based Dense
Retrievers Require Interpolation with BM25", ICTIR 2021):

    s(q, d) = alpha * model(q, d) + (1 - alpha) * minmax_q(first_stage(q, d))

The first-stage score is min-max normalised over each query's candidate list (BM25 scores are unbounded and
on a per-query scale); the model score is the cross-encoder's sigmoid, already in (0, 1). ``alpha`` is fitted
by a grid search of nDCG@10 on training queries *held out from the model's training* (a model scores the
queries it was trained on far too well, which would push ``alpha`` to 1). Deviation from Yang et al.: one
held-out split instead of cross-validation folds, to keep training within minutes on a CPU.

Because the normalisation is per candidate list, an interpolated score is not a function of (q, d) alone:
certification must smooth the bare model score, and attacks that change a document's text must not reuse the
first-stage score of the unchanged document.

Example:
    >>> import pandas as pd
    >>> t = pd.DataFrame({"qid": ["1", "1"], "score": [10.0, 20.0]})
    >>> interpolate(t["qid"], t["score"], pd.Series([0.9, 0.1]), alpha=0.5).round(2).tolist()
    [0.45, 0.55]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

#: the alpha grid searched on held-out queries (0 = first stage only, 1 = model only)
ALPHA_GRID: tuple[float, ...] = tuple(round(a, 2) for a in np.linspace(0.0, 1.0, 21))


def minmax_per_query(qids: Sequence[Any] | pd.Series, scores: Sequence[float] | pd.Series) -> np.ndarray:
    """Scores min-max normalised to [0, 1] within each query (a query whose scores are all equal gets 0).

    Example:
        >>> minmax_per_query(["a", "a", "b"], [1.0, 3.0, 5.0]).tolist()
        [0.0, 1.0, 0.0]
    """
    s = pd.Series(np.asarray(scores, dtype=np.float64))
    g = s.groupby(np.asarray(qids))
    lo, hi = g.transform("min"), g.transform("max")
    span = (hi - lo).to_numpy()
    out = np.zeros(len(s))
    ok = span > 0
    out[ok] = (s.to_numpy() - lo.to_numpy())[ok] / span[ok]
    return out


def interpolate(
    qids: Sequence[Any] | pd.Series,
    first_stage: Sequence[float] | pd.Series,
    model: Sequence[float] | pd.Series,
    alpha: float,
) -> np.ndarray:
    """``alpha * model + (1 - alpha) * minmax_q(first_stage)`` for aligned rows.

    Example:
        >>> interpolate(["1", "1"], [0.0, 1.0], [1.0, 0.0], alpha=1.0).tolist()
        [1.0, 0.0]
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    return alpha * np.asarray(model, dtype=np.float64) + (1.0 - alpha) * minmax_per_query(qids, first_stage)


def fit_alpha(
    run: pd.DataFrame, model_scores: Sequence[float], qrels: pd.DataFrame, measure: str = "nDCG@10",
    grid: Sequence[float] = ALPHA_GRID,
) -> dict[str, Any]:  # fmt: skip
    """The grid ``alpha`` maximising the mean ``measure`` of the interpolated run on ``qrels``.

    ``run`` holds the first stage (``qid, docno, score``) and ``model_scores`` the model's score of each row.
    Ties go to the smaller alpha (more weight on the cheaper, untrained first stage). Returns ``alpha``,
    ``measure``, the number of queries and the whole curve, for the model's manifest.

    Example:
        >>> run = pd.DataFrame({"qid": ["1", "1"], "docno": ["a", "b"], "score": [2.0, 1.0]})
        >>> qrels = pd.DataFrame({"qid": ["1"], "docno": ["b"], "label": [1]})
        >>> fit_alpha(run, [0.1, 0.9], qrels)["alpha"] > 0.5
        True
    """
    from irrobust.core.transformer import add_ranks
    from irrobust.evaluate.measures import evaluate_run

    qrels = qrels[qrels["qid"].astype(str).isin(set(run["qid"].astype(str)))]  # the run's queries only
    curve = []
    for a in grid:
        fused = add_ranks(run[["qid", "docno"]].assign(score=interpolate(run["qid"], run["score"], model_scores, a)))
        curve.append({"alpha": float(a), measure: float(evaluate_run(fused, qrels, [measure])[measure])})
    best = max(curve, key=lambda row: (row[measure], -row["alpha"]))
    return {
        "alpha": best["alpha"],
        "measure": measure,
        "value": best[measure],
        "queries": int(run["qid"].nunique()),
        "curve": curve,
    }
