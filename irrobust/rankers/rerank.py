"""Shared machinery of reranking stages: which text to score, and the rescore-and-rerank step.

A reranker scores the ``text`` column when the results table has one (attacks and certification pass
perturbed documents this way), otherwise it looks the texts up in a document store.

Example:
    >>> import pandas as pd
    >>> rerank_texts(pd.DataFrame({"docno": ["a"], "text": ["hello"]}), None, "ce")
    ['hello']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from irrobust.core.scoring import ScoringStage
from irrobust.core.transformer import Transformer, add_ranks, check_columns
from irrobust.errors import ModelError


def as_docstore(docs: Any) -> Any:
    """A document store (``.texts(docnos)``) from a store or a dataset; ``None`` stays ``None``.

    Example:
        >>> as_docstore(None) is None
        True
    """
    if docs is None:
        return None
    if hasattr(docs, "texts"):
        return docs
    if hasattr(docs, "docs") and hasattr(docs.docs, "texts"):
        return docs.docs
    raise ModelError(f"docs must be a document store with .texts(docnos) or a dataset, got {type(docs).__name__}")


def rerank_texts(table: pd.DataFrame, docs: Any, stage: str) -> list[str]:
    """The document texts a reranking stage scores: the ``text`` column if present, else looked up in ``docs``.

    Example:
        >>> import pandas as pd
        >>> rerank_texts(pd.DataFrame({"docno": ["a"], "text": ["hi"]}), None, "ce")
        ['hi']
    """
    if "text" in table.columns:
        return table["text"].astype(str).tolist()
    if docs is None:
        raise ModelError("the results have no 'text' column and no document store was given to look texts up; "
                         "pass docs=dataset.docs when constructing the reranker", where=stage)  # fmt: skip
    return docs.texts(table["docno"].astype(str).tolist())


class ScoringReranker(ScoringStage, Transformer):
    """Base of rerankers with a ``scorer.score(queries, texts) -> scores`` and a ``docs`` store.

    As a ranker (:mod:`irrobust.core.scoring`) it scores texts with the model alone: ``score_texts`` and
    ``score_pairs`` are the scorer's scores, before any :meth:`combine` with the first stage (an interpolated
    score depends on the candidate list, so it is not a function of the query and the text).

    Example:
        >>> class Len(ScoringReranker):
        ...     def __init__(self):
        ...         self.docs = None
        ...         self.scorer = type("S", (), {"score": staticmethod(lambda q, t: [len(x) for x in t])})()
        >>> Len()(pd.DataFrame({"qid": ["1", "1"], "query": ["q", "q"], "docno": ["a", "b"],
        ...                     "text": ["x", "xyz"]}))["docno"].tolist()
        ['b', 'a']
    """

    docs: Any = None
    scorer: Any = None

    def score_texts(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """The model's scores (float64) of ``texts`` for ``query``.

        Example:
            >>> reranker.score_texts("vitamin d", ["vitamin d deficiency", "unrelated"])   # doctest: +SKIP
        """
        texts = list(texts)
        if not texts:
            return np.zeros(0, dtype=np.float64)
        return np.asarray(self.scorer.score(query, texts), dtype=np.float64)

    def score_pairs(self, queries: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        """The model's scores (float64) of aligned ``(queries[i], texts[i])`` pairs, in one batched call.

        Example:
            >>> reranker.score_pairs(["q1", "q2"], ["text a", "text b"]).shape   # doctest: +SKIP
            (2,)
        """
        queries, texts = [str(q) for q in queries], list(texts)
        if len(queries) != len(texts):
            raise ModelError(f"{len(queries)} queries but {len(texts)} texts; they must align", where=repr(self))
        if not texts:
            return np.zeros(0, dtype=np.float64)
        return np.asarray(self.scorer.score(queries, texts), dtype=np.float64)

    def set_threads(self, threads: int) -> None:
        """Score on ``threads`` torch threads, without progress bars (attacks and certification call this).

        Example:
            >>> reranker.set_threads(1)   # doctest: +SKIP
        """
        if hasattr(self.scorer, "threads"):
            self.scorer.threads = int(threads)
        if hasattr(self.scorer, "progress"):
            self.scorer.progress = False

    def transform(self, table: pd.DataFrame) -> pd.DataFrame:
        check_columns(table, ("qid", "query", "docno"), repr(self))
        if table.empty:
            return add_ranks(table.assign(score=pd.Series(dtype=float)))
        texts = rerank_texts(table, self.docs, repr(self))
        scores = np.asarray(self.scorer.score(table["query"].astype(str).tolist(), texts), dtype=np.float64)
        return add_ranks(table.assign(score=self.combine(table, scores)))

    def combine(self, table: pd.DataFrame, scores: np.ndarray) -> np.ndarray:
        """The final score of each row from the model's ``scores`` (default: the model's score alone).

        Example:
            >>> ScoringReranker.combine(None, pd.DataFrame(), np.array([0.5])).tolist()
            [0.5]
        """
        return scores


class TrainedReranker(ScoringReranker):
    """Base of rerankers whose model directory irrobust trains: one ``from_dataset`` and one ``spec``.

    Subclasses set ``default_name`` and the two functions ``train_model(dataset, name=, config=) -> Path``
    and ``load_model(dataset, name=) -> Path`` (validated directory), and take ``(path, docs=, verify=, ...)``
    in their constructor; ``manifest`` is the model directory's manifest.

    Example:
        >>> from irrobust.rankers.knrm import KNRMReranker
        >>> issubclass(KNRMReranker, TrainedReranker)
        True
    """

    default_name: str = ""
    manifest: dict[str, Any] = {}

    @staticmethod
    def train_model(dataset: Any, name: str, config: Any = None, device: str = "auto") -> Any:  # pragma: no cover
        raise NotImplementedError

    @staticmethod
    def load_model(dataset: Any, name: str) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    @classmethod
    def auto_name(cls, config: Any = None) -> str:
        """The model name for ``config``: ``default_name`` for the default training settings (any seed), else
        ``default_name-<8 hex digits of the settings>``, so that pipelines training the same family with other
        settings (say, fewer epochs on one collection) never overwrite each other's model directory.

        Example:
            >>> from irrobust.rankers.cross_encoder import CrossEncoderConfig, CrossEncoderReranker
            >>> CrossEncoderReranker.auto_name(CrossEncoderConfig(seed=7))
            'ce-minilm'
            >>> CrossEncoderReranker.auto_name(CrossEncoderConfig(epochs=1)).startswith("ce-minilm-")
            True
        """
        from irrobust.util.io import sha256_json

        if config is None:
            return cls.default_name
        spec = {k: v for k, v in config.training_spec().items() if k != "seed"}
        default = {k: v for k, v in type(config)().training_spec().items() if k != "seed"}
        return cls.default_name if spec == default else f"{cls.default_name}-{sha256_json(spec)[:8]}"

    @classmethod
    def from_dataset(
        cls, dataset: Any, name: str | None = None, docs: Any = None, train: bool = False, config: Any = None,
        **kwargs: Any,
    ) -> TrainedReranker:  # fmt: skip
        """The reranker trained on ``dataset`` (a training split) under ``name``; train it first if ``train``.

        Without ``name``, the name follows the training settings (:meth:`auto_name`).

        Training reuses a still-valid model directory; loading validates it (missing, foreign dataset or
        tokenizer, corrupted files → :class:`ModelError`).

        Example:
            >>> from irrobust.rankers.knrm import KNRMReranker
            >>> KNRMReranker.from_dataset("beir/scifact/train", train=True)   # doctest: +SKIP
        """
        name = name or cls.auto_name(config)
        if train:
            from irrobust.index.models import model_dir, resolve_dataset
            from irrobust.util.io import build_lock

            ds = resolve_dataset(dataset)
            with build_lock(model_dir(ds.collection, name)):  # concurrent pipelines train a model once
                train_kwargs = {"device": kwargs["device"]} if "device" in kwargs else {}  # trains where it scores
                path = cls.train_model(ds, name=name, config=config, **train_kwargs)
        else:
            path = cls.load_model(dataset, name=name)
        return cls(path, docs=docs, verify=False, **kwargs)

    def extra_spec(self) -> dict[str, Any]:
        """Settings that change the scores beyond the weights (added to :meth:`spec`).

        Example:
            >>> TrainedReranker.extra_spec(None)
            {}
        """
        return {}

    def spec(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "model": self.manifest.get("name"),
            "dataset": self.manifest.get("dataset"),
            "weights_sha256": self.manifest.get("files", {}).get("model.safetensors"),
            **self.extra_spec(),
        }
