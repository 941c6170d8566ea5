"""The bounded base scorer f ∈ [0, 1] of any ranker, through the scoring protocol (:mod:`irrobust.core.scoring`).

What the ranker declares (``capabilities``) decides everything; no ranker class is named here:

* the **squashing**: a declared ``bounded`` transform (``identity`` for scores already in [0, 1] such as a
  cross-encoder's sigmoid, ``tanh`` for KNRM's scores in [-1, 1], ``sigmoid`` for logits) is used as is;
  unbounded scores (BM25, QL, LTR, dense cosine, a user's function) get a logistic squashing fitted once, on the
  raw scores the ranker gives to the BM25 top-``depth`` candidates of ``n_queries`` seeded *training* queries
  (:meth:`~irrobust.certify.smoothing.Squash.fit`), never on the evaluated lists;
* the **sample scorer**: rankers with a fast smoothed path (``fast_smoothing``: BM25 / QL from token tables,
  KNRM from kernel tables) score token-id copies directly (:class:`~irrobust.certify.smoothing.StageSampleScorer`);
  every other ranker scores the distinct materialised copies in one ``score_texts`` call
  (:class:`~irrobust.certify.smoothing.TextSampleScorer`).

Example:
    >>> scorer, squash, kind = smoothing_scorer(stage, "beir/scifact/train", seed=42)   # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np

from irrobust.certify.smoothing import Squash, StageSampleScorer, TextSampleScorer
from irrobust.core.scoring import ProtocolTarget, scorer_of, scoring_kind
from irrobust.errors import ModelError

#: the squashing of each declared bounded-score transform (``sigmoid`` = the logistic curve at 0 with scale 1)
BOUNDED_SQUASH = {"identity": Squash("identity"), "tanh": Squash("tanh"), "sigmoid": Squash("logistic", 0.0, 1.0)}


def calibration_scores(
    target: Any, train_dataset: Any, n_queries: int = 20, depth: int = 20, seed: int = 0
) -> np.ndarray:
    """Raw scores of ``target`` (``score(query, texts)``) on the BM25 top-``depth`` candidates of ``n_queries``
    seeded training queries.

    Example:
        >>> calibration_scores(ProtocolTarget(scorer_of(stage)), "beir/scifact/train", 5, 10).shape   # doctest: +SKIP
        (50,)
    """
    from irrobust.data.dataset import dataset as load_dataset
    from irrobust.index.lucene import lucene_index
    from irrobust.rankers.lexical import BM25
    from irrobust.rankers.training import select_queries

    ds = load_dataset(train_dataset) if isinstance(train_dataset, str) else train_dataset
    queries = select_queries(ds.queries, n_queries, seed)
    run = BM25(lucene_index(ds, progress=False), k=depth)(queries)
    out = []
    for _qid, grp in run.groupby("qid", sort=True):
        texts = ds.docs.texts(grp["docno"].astype(str).tolist())
        out.append(np.asarray(target.score(str(grp["query"].iloc[0]), texts), dtype=np.float64))
    if not out:
        raise ModelError("no calibration candidates (no training query retrieved anything)", where=str(ds.id))
    return np.concatenate(out)


def smoothing_scorer(stage: Any, train_dataset: Any, seed: int = 0, n_queries: int = 20, depth: int = 10,
                     threads: int | None = 1) -> tuple[Any, Squash, str]:  # fmt: skip
    """The :class:`~irrobust.certify.smoothing.SampleScorer` of a stage or system, its squashing and its kind.

    Raises :class:`ModelError` for stages that cannot score arbitrary texts (RM3, fusion, non-rankers).

    Example:
        >>> smoothing_scorer(object(), "beir/scifact/train")   # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ModelError: ...
    """
    scorer = scorer_of(stage)
    if threads is not None and hasattr(scorer, "set_threads"):
        scorer.set_threads(int(threads))
    caps = scorer.capabilities
    target = ProtocolTarget(scorer)
    if caps.bounded is not None:
        squash = BOUNDED_SQUASH[caps.bounded]
    else:
        squash = Squash.fit(calibration_scores(target, train_dataset, n_queries, depth, seed))
    sample = StageSampleScorer(scorer, squash) if caps.fast_smoothing else TextSampleScorer(target, squash)
    return sample, squash, scoring_kind(scorer)


__all__ = ["BOUNDED_SQUASH", "calibration_scores", "smoothing_scorer"]
