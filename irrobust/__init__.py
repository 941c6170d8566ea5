"""irrobust: measure and improve the robustness of search rankers and recommenders.

The public API is loaded lazily so that ``import irrobust`` stays cheap (Lucene's JVM,
torch and numba start only when a component that needs them is used).

Top level: datasets (``ir.dataset``), indexes (``ir.lucene_index``, ``ir.dense_index``), rankers (``ir.BM25``,
``ir.QL``, ``ir.RM3``, ``ir.DenseRetriever``, ``ir.DenseReranker``, ``ir.CrossEncoderReranker``, ``ir.KNRMReranker``,
``ir.LTRReranker``, ``ir.FunctionRanker``, and ``ir.ranker(name, dataset, **params)`` for any registered ranker, built
as a pipeline file builds it), the stage algebra, and ``ir.experiment`` (effectiveness and every robustness task, one
report object). Subpackages: ``ir.shifts`` (query shifts), ``ir.attacks`` (attack recipes), ``ir.certify`` (CertDR),
``ir.recsys`` (recommender noise and PLD), ``ir.rankers``.

Example:
    >>> import irrobust as ir
    >>> ds = ir.dataset("beir/scifact/test")                          # doctest: +SKIP
    >>> bm25 = ir.BM25(ir.lucene_index(ds))                           # doctest: +SKIP
    >>> ir.experiment({"bm25": bm25 % 100}, ds, ["nDCG@10"]).summary()  # doctest: +SKIP
    >>> ir.experiment({"bm25": bm25}, ds, shifts=[ir.shifts.Typos(rate=0.2)], attacks=["prada"],
    ...               certify={"max_queries": 10}).most_robust()      # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

import irrobust._bootstrap  # noqa: F401  (environment defaults before heavy imports)

__version__ = "0.1.0"

_EXPORTS = {
    "dataset": "irrobust.data.dataset",
    "Dataset": "irrobust.data.dataset",
    "lucene_index": "irrobust.index.lucene",
    "BM25": "irrobust.rankers.lexical",
    "QL": "irrobust.rankers.lexical",
    "RM3": "irrobust.rankers.lexical",
    "FunctionRanker": "irrobust.rankers.function",
    "Transformer": "irrobust.core.transformer",
    "rrf": "irrobust.core.transformer",
    "evaluate_run": "irrobust.evaluate.measures",
    "per_query": "irrobust.evaluate.measures",
    "compare": "irrobust.evaluate.table",
    "DenseRetriever": "irrobust.rankers.dense",
    "DenseReranker": "irrobust.rankers.dense",
    "CrossEncoderReranker": "irrobust.rankers.cross_encoder",
    "KNRMReranker": "irrobust.rankers.knrm",
    "LTRReranker": "irrobust.rankers.ltr",
    "dense_index": "irrobust.index.dense",
    "ranker": "irrobust.pipeline.study",
    "experiment": "irrobust.pipeline.study",
    "Experiment": "irrobust.pipeline.experiment",
    "study": "irrobust.pipeline.study",
    "Study": "irrobust.pipeline.study",
    "Transfer": "irrobust.pipeline.study",
    "load_pipeline": "irrobust.pipeline.config",
    "run_pipeline": "irrobust.pipeline.runner",
    "IrrobustError": "irrobust.errors",
}

#: subpackages reachable as attributes (imported on first access)
_SUBPACKAGES = ("attacks", "certify", "rankers", "recsys", "shifts")

__all__ = sorted([*_EXPORTS, *_SUBPACKAGES])


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        value = importlib.import_module(f"irrobust.{name}")
        globals()[name] = value
        return value
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'irrobust' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
