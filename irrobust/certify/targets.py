"""The bounded base scorer f ∈ [0, 1] of every ranker family, and its squashing calibrated on training queries.

* BM25 / QL → :class:`~irrobust.certify.smoothing.LuceneSampleScorer` with a logistic squashing;
* KNRM → :class:`~irrobust.certify.smoothing.KNRMSampleScorer` (``(tanh + 1) / 2``, already bounded);
* cross-encoder → its sigmoid score (bounded; identity squashing), generic text path;
* LTR, dense (retriever or reranker) → the attack target of the stage (:func:`irrobust.attacks.victims.target_for_stage`)
  with a logistic squashing, generic text path.

The logistic squashing of an unbounded ranker is fitted once, on the raw scores the ranker gives to the BM25
top-``depth`` candidates of ``n_queries`` seeded *training* queries (:meth:`~irrobust.certify.smoothing.Squash.fit`),
never on the evaluated lists.

Example:
    >>> scorer, squash, kind = sample_scorer_for_stage(stage, "beir/scifact/train", seed=42)   # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np

from irrobust.certify.smoothing import KNRMSampleScorer, LuceneSampleScorer, Squash, TextSampleScorer
from irrobust.errors import ModelError


def _unwrap(stage: Any) -> Any:
    from irrobust.core.transformer import Transformer

    return stage.final() if isinstance(stage, Transformer) else stage


def calibration_scores(
    target: Any, train_dataset: Any, n_queries: int = 20, depth: int = 20, seed: int = 0
) -> np.ndarray:
    """Raw scores of ``target`` on the BM25 top-``depth`` candidates of ``n_queries`` seeded training queries.

    Example:
        >>> calibration_scores(target, "beir/scifact/train", 5, 10).shape   # doctest: +SKIP
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


def sample_scorer_for_stage(stage: Any, train_dataset: Any, seed: int = 0, n_queries: int = 20, depth: int = 10,
                            threads: int | None = 1) -> tuple[Any, Squash, str]:  # fmt: skip
    """The :class:`~irrobust.certify.smoothing.SampleScorer` of a system's last stage, its squashing and its kind.

    Raises :class:`ModelError` for stages that cannot score arbitrary texts (RM3, fusion).

    Example:
        >>> sample_scorer_for_stage(object(), "beir/scifact/train")   # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ModelError: ...
    """
    from irrobust.attacks.victims import LexicalTarget, target_for_stage
    from irrobust.rankers.cross_encoder import CrossEncoderReranker
    from irrobust.rankers.knrm import KNRMReranker

    stage = _unwrap(stage)
    if isinstance(stage, KNRMReranker):
        if threads is not None:
            stage.scorer.threads = int(threads)
        fast = KNRMSampleScorer(stage.scorer)
        return fast, fast.squash, "knrm"
    target = target_for_stage(stage, threads=threads)
    if isinstance(target, LexicalTarget):
        squash = Squash.fit(calibration_scores(target, train_dataset, n_queries, depth, seed))
        return LuceneSampleScorer(target.scorer, squash), squash, target.model
    if isinstance(stage, CrossEncoderReranker):
        if getattr(stage.scorer, "activation", "sigmoid") != "sigmoid":
            raise ModelError("the cross-encoder must score with a sigmoid to be smoothed", where=repr(stage))
        return TextSampleScorer(target, Squash("identity")), Squash("identity"), "cross-encoder"
    squash = Squash.fit(calibration_scores(target, train_dataset, n_queries, depth, seed))
    return TextSampleScorer(target, squash), squash, type(stage).__name__


__all__ = ["calibration_scores", "sample_scorer_for_stage"]
