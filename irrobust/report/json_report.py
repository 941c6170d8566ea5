"""JSON rendering of a run's results object: the summary, scorecard and per-task statistics as plain records.

The long per-query table is not repeated (it is ``results.csv``); every other table of
:class:`irrobust.evaluate.results.RunResults` is written as a list of records.

Example:
    >>> import pandas as pd
    >>> from irrobust.evaluate.results import build_results
    >>> from irrobust.evaluate.table import long_rows
    >>> t = long_rows(pd.DataFrame({"qid": ["1", "2"], "measure": "nDCG@10", "value": [.5, 1.]}), "d", "bm25")
    >>> sorted(results_json(build_results("n", "", t, baseline="bm25", measure="nDCG@10", families={})))[:3]
    ['attacks', 'baseline', 'certify']
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import pandas as pd

from irrobust.evaluate.results import RunResults


def _plain(value: Any) -> Any:
    """``value`` with NaN/inf as None and numpy scalars as Python numbers (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    if frame is None or frame.empty:
        return []
    return _plain(frame.to_dict(orient="records"))


def _series(series: pd.Series | None) -> list[dict[str, Any]]:
    if series is None or series.empty:
        return []
    return _records(series.rename("value").reset_index())


def results_json(results: RunResults) -> dict[str, Any]:
    """The results object as a JSON-ready dictionary.

    Example:
        >>> results_json  # doctest: +ELLIPSIS
        <function results_json at ...>
    """
    r = results
    return _plain({
        "name": r.name, "baseline": r.baseline, "measure": r.measure, "significance": asdict(r.significance),
        "seed": r.seed, "families": r.families,
        "summary": [asdict(line) for line in r.summary],
        "scorecard": {"rows": r.scorecard.rows, "excluded": r.scorecard.excluded},
        "comparisons": _records(r.comparisons),
        "variance": None if r.variance is None else {"measure": r.variance.measure,
                                                      "settings": asdict(r.variance.settings),
                                                      "stats": _records(r.variance.stats)},
        "shifts": None if r.shifts is None else {"comparisons": _records(r.shifts.comparisons),
                                                  "changed": _records(r.shifts.shift_stats)},
        "transfer": None if r.transfer is None else {"targets": r.transfer.targets,
                                                      "comparisons": _records(r.transfer.comparisons)},
        "attacks": [{"task": a.task, "dataset": a.dataset, "means": _series(a.means), "queries": _series(a.queries),
                     "targets": a.targets, "paired": _records(a.paired),
                     "systems_paired": _records(a.systems_paired)} for a in r.attacks],
        "certify": [{"dataset": c.dataset, "crq": _series(c.crq), "queries": _series(c.queries),
                     "cost": c.cost or [], "clean": _series(c.clean)} for c in r.certify],
        "memorization": None if r.memorization is None else _records(r.memorization.rows),
    })  # fmt: skip


__all__ = ["results_json"]
