"""irrobust: measure and improve the robustness of search rankers and recommenders.

The public API is loaded lazily so that ``import irrobust`` stays cheap (Lucene's JVM,
torch and numba start only when a component that needs them is used).

Example:
    >>> import irrobust as ir
    >>> ds = ir.dataset("beir/scifact/test")                          # doctest: +SKIP
    >>> bm25 = ir.BM25(ir.lucene_index(ds))                           # doctest: +SKIP
    >>> ir.experiment({"bm25": bm25 % 100}, ds, ["nDCG@10"]).summary()  # doctest: +SKIP
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
    "experiment": "irrobust.pipeline.experiment",
    "Experiment": "irrobust.pipeline.experiment",
    "load_pipeline": "irrobust.pipeline.config",
    "run_pipeline": "irrobust.pipeline.runner",
    "IrrobustError": "irrobust.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'irrobust' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
