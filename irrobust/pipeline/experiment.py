"""Side-by-side evaluation of systems on one dataset: :class:`Experiment`, the evaluator the runner and the Python API
(:func:`irrobust.pipeline.study.experiment`, ``ir.experiment``) run every system through.

Modelled on PyTerrier's ``pt.Experiment`` (reimplemented): run every system on the dataset's
queries, evaluate per query with ranx, and compare each system with a baseline using a paired
test and a multiple-testing correction.

Example:
    >>> import irrobust as ir
    >>> ds = ir.dataset("cranfield")                                        # doctest: +SKIP
    >>> idx = ir.lucene_index(ds)                                            # doctest: +SKIP
    >>> exp = Experiment({"bm25": ir.BM25(idx), "ql": ir.QL(idx)}, ds, ["nDCG@10"])  # doctest: +SKIP
    >>> exp.summary()                                                                # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import pandas as pd
from tqdm.auto import tqdm

from irrobust.core.transformer import Transformer
from irrobust.data.dataset import Dataset
from irrobust.errors import IrrobustError
from irrobust.evaluate.measures import parse_measure, per_query
from irrobust.evaluate.table import compare, long_rows, summarize

DEFAULT_MEASURES = ("nDCG@10", "R@100", "MAP@100", "RR@10")


class Experiment:
    """Runs, per-query long table, summary and comparisons of several systems on one dataset.

    Example:
        >>> Experiment.__init__.__code__.co_varnames[1:4]
        ('systems', 'data', 'measures')
    """

    def __init__(self, systems: Mapping[str, Transformer], data: Dataset, measures: Sequence[str],
                 baseline: str | None = None, test: str = "t", correction: str = "holm", alpha: float = 0.05,
                 task: str = "effectiveness", condition: str = "clean", queries: pd.DataFrame | None = None,
                 progress: bool = True,
                 load_run: Callable[[str], tuple[pd.DataFrame, float | None] | None] | None = None,
                 save_run: Callable[[str, pd.DataFrame, float], None] | None = None) -> None:  # fmt: skip
        if not systems:
            raise IrrobustError("an experiment needs at least one system")
        self.data, self.systems = data, dict(systems)
        self.measures = [parse_measure(m)[0] for m in measures]
        self.baseline = baseline or next(iter(self.systems))
        if self.baseline not in self.systems:
            raise IrrobustError(f"baseline {self.baseline!r} is not among the systems {list(self.systems)}")
        self.test, self.correction, self.alpha = test, correction, alpha
        self.task, self.condition = task, condition
        self.queries = queries if queries is not None else data.queries
        self.runs: dict[str, pd.DataFrame] = {}
        self.timings: dict[str, float] = {}
        frames = []
        for name, system in tqdm(self.systems.items(), desc=f"systems on {data.id}", disable=not progress, unit="sys"):
            started = time.perf_counter()
            saved = load_run(name) if load_run else None
            results, seconds = saved if saved is not None else (system(self.queries), None)
            if seconds is None:  # computed now (or a checkpoint older than its recorded time)
                seconds = round(time.perf_counter() - started, 3)
            if saved is None and save_run:
                save_run(name, results, seconds)
            self.timings[name] = seconds  # a checkpointed run reports the compute time it took when it was made
            self.runs[name] = results
            pq = per_query(results, data.qrels, self.measures)
            frames.append(long_rows(pq, data.id, name, task, condition))
        self.table = pd.concat(frames, ignore_index=True)

    def summary(self) -> pd.DataFrame:
        """Mean per system (rows) and measure (columns).

        Example:
            >>> exp.summary().loc["bm25", "nDCG@10"]  # doctest: +SKIP
            0.6789
        """
        s = summarize(self.table)
        wide = s.pivot(index="system", columns="measure", values="value")
        return wide.loc[list(self.systems), self.measures]

    def compare(self) -> pd.DataFrame:
        """Each system against the baseline: means, delta, p-value, corrected p-value, significance.

        Example:
            >>> exp.compare()[["system", "measure", "p_adjusted"]]  # doctest: +SKIP
        """
        if len(self.systems) < 2:
            return pd.DataFrame()
        return compare(self.table, self.baseline, self.test, self.correction, self.alpha)

    def to_markdown(self) -> str:
        """The comparison table as markdown with significance marks.

        Example:
            >>> print(exp.to_markdown())  # doctest: +SKIP
        """
        from irrobust.report.markdown import effectiveness_tables

        return effectiveness_tables(self.table, self.compare(), self.baseline, self.test, self.correction, self.alpha)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()
