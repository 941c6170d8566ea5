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

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from irrobust.core.task import Unit, WorkerState, unit_key
from irrobust.core.transformer import Transformer, add_ranks
from irrobust.data.dataset import Dataset
from irrobust.errors import IrrobustError
from irrobust.evaluate.measures import parse_measure, per_query
from irrobust.evaluate.table import compare, long_rows, summarize

DEFAULT_MEASURES = ("nDCG@10", "R@100", "MAP@100", "RR@10")


def queries_hash(queries: pd.DataFrame) -> str:
    """The content hash of a queries table's ``qid, query`` columns (part of every run unit's key).

    Example:
        >>> len(queries_hash(pd.DataFrame({"qid": ["1"], "query": ["a b"]})))
        64
    """
    return hashlib.sha256(
        pd.util.hash_pandas_object(queries[["qid", "query"]], index=False).to_numpy().tobytes()
    ).hexdigest()


@dataclass(frozen=True)
class Condition:
    """One queries table a dataset's systems run on: the task and condition it stands for, and its queries.

    Example:
        >>> Condition("query-shift", "typos", pd.DataFrame({"qid": ["1"], "query": ["x"]})).folder("cranfield")
        'cranfield/query-shift/typos'

    (made file-name safe, ``cranfield-query-shift-typos``, by the runner)
    """

    task: str
    condition: str
    queries: pd.DataFrame

    def folder(self, dataset_id: str) -> str:
        """Where the condition's run files go under ``runs/`` (the clean runs directly in the dataset's folder)."""
        return dataset_id if self.condition == "clean" else f"{dataset_id}/{self.task}/{self.condition}"


def run_record(results: pd.DataFrame, seconds: float) -> dict[str, Any]:
    """A run as a unit result (plain JSON, rows in the system's order): ``qid, docno, score, rank`` lists and the
    compute seconds.

    Example:
        >>> run_record(pd.DataFrame({"qid": ["1"], "docno": ["d"], "score": [2.5], "rank": [1]}), 0.1)["score"]
        [2.5]
    """
    return {"qid": [str(q) for q in results["qid"]], "docno": [str(d) for d in results["docno"]],
            "score": [float(v) for v in results["score"].astype(float)], "rank": [int(r) for r in results["rank"]],
            "seconds": float(seconds)}  # fmt: skip


def record_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    """The run of a unit result (:func:`run_record`) as a results table, rows in the stored order.

    Example:
        >>> record_frame({"qid": ["1"], "docno": ["d"], "score": [2.5], "rank": [1]}).dtypes.tolist()
        [dtype('O'), dtype('O'), dtype('float64'), dtype('int64')]
    """
    return pd.DataFrame({"qid": pd.Series(record["qid"], dtype=object), "docno": pd.Series(record["docno"], dtype=object),
                         "score": pd.Series(record["score"], dtype="float64"),
                         "rank": pd.Series(record["rank"], dtype="int64")})  # fmt: skip


@dataclass
class RunsOutput:
    """The typed output of :class:`SystemRuns`: per condition (in the task's order), each system's run (ranked by
    :func:`~irrobust.core.transformer.add_ranks`), the run as computed (for the run file) and its compute seconds.

    Example:
        >>> RunsOutput([], [], []).runs
        []
    """

    runs: list[dict[str, pd.DataFrame]]
    raw: list[dict[str, pd.DataFrame]]
    seconds: list[dict[str, float]]


class SystemRuns:
    """The effectiveness / query-shift / transfer runs of one dataset as a task (:mod:`irrobust.core.task`): one unit
    per (condition, system), the system's ranked list for the condition's queries.

    Args:
        systems: the built systems (name → stage), or a :class:`~irrobust.core.task.WorkerState` building them
            in a worker process.
        names: the systems to run, in output order.
        conditions: the queries tables (:class:`Condition`), in output order.
        settings: per system, what its runs depend on besides the stage's spec (the system's configuration).
        dataset_id, docs_checksum: the dataset (part of every key).
        stage_specs: per system, the stage's :meth:`~irrobust.core.transformer.Transformer.spec` (as built in the
            driver; part of every key).

    A unit's key hashes the system's settings, its stage spec, the dataset and its documents' checksum and the
    queries' content (:func:`queries_hash`), so a changed system, collection or query set never reuses a result.

    Example:
        >>> from irrobust.core.transformer import Identity
        >>> q = pd.DataFrame({"qid": ["1"], "query": ["a"]})
        >>> t = SystemRuns({"s": Identity()}, ["s"], [Condition("effectiveness", "clean", q)], {"s": {}}, "d", "c",
        ...                {"s": {}})
        >>> [u.label for u in t.units()]
        ['d effectiveness/clean s']
    """

    name = "runs"

    def __init__(self, systems: Mapping[str, Transformer] | WorkerState[Mapping[str, Transformer]],
                 names: Sequence[str], conditions: Sequence[Condition], settings: Mapping[str, Any], dataset_id: str,
                 docs_checksum: str, stage_specs: Mapping[str, Any]) -> None:  # fmt: skip
        self.systems = systems if isinstance(systems, WorkerState) else WorkerState.driver_only(dict(systems), "these systems", "executor")
        self.names, self.conditions = list(names), [
            Condition(c.task, c.condition, c.queries[["qid", "query"]]) for c in conditions
        ]
        self.settings, self.dataset_id, self.docs_checksum = dict(settings), dataset_id, docs_checksum
        self.stage_specs = dict(stage_specs)

    def spec_of(self, ci: int, name: str) -> dict[str, Any]:
        """What the run of ``name`` on condition ``ci`` depends on (hashed into its key; also the ``spec`` of the
        run file's sidecar, as earlier versions wrote it)."""
        return {"config": self.settings[name], "stage": self.stage_specs[name], "dataset": self.dataset_id,
                "docs": self.docs_checksum, "queries": queries_hash(self.conditions[ci].queries)}  # fmt: skip

    def units(self) -> list[Unit]:
        """One unit per (condition, system), condition by condition."""
        return [Unit(unit_key("run", self.spec_of(ci, name)), {"condition": ci, "system": name},
                     f"{self.dataset_id} {c.task}/{c.condition} {name}")
                for ci, c in enumerate(self.conditions) for name in self.names]  # fmt: skip

    def run(self, unit: Unit) -> dict[str, Any]:
        """Run one system on one condition's queries; the run and its compute seconds (:func:`run_record`)."""
        system = self.systems.get()[unit.inputs["system"]]
        started = time.perf_counter()
        results = system(self.conditions[unit.inputs["condition"]].queries)
        return run_record(results, round(time.perf_counter() - started, 3))

    def combine(self, results: Sequence[dict[str, Any]]) -> RunsOutput:
        """The runs per condition and system, in unit order."""
        out = RunsOutput([{} for _ in self.conditions], [{} for _ in self.conditions], [{} for _ in self.conditions])
        for unit, rec in zip(self.units(), results, strict=True):
            ci, name = unit.inputs["condition"], unit.inputs["system"]
            raw = record_frame(rec)
            out.raw[ci][name], out.runs[ci][name] = raw, add_ranks(raw)
            out.seconds[ci][name] = float(rec["seconds"])
        return out


class Experiment:
    """Runs, per-query long table, summary and comparisons of several systems on one dataset.

    ``runs`` hands over runs already made (name → ``(results, seconds)``, e.g. by :class:`SystemRuns` on an
    executor); without it the systems run here, through the same task code, one after the other.

    Example:
        >>> Experiment.__init__.__code__.co_varnames[1:4]
        ('systems', 'data', 'measures')
    """

    def __init__(self, systems: Mapping[str, Transformer], data: Dataset, measures: Sequence[str],
                 baseline: str | None = None, test: str = "t", correction: str = "holm", alpha: float = 0.05,
                 task: str = "effectiveness", condition: str = "clean", queries: pd.DataFrame | None = None,
                 progress: bool = True,
                 runs: Mapping[str, tuple[pd.DataFrame, float]] | None = None) -> None:  # fmt: skip
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
        if runs is None:
            task_ = SystemRuns(self.systems, list(self.systems), [Condition(task, condition, self.queries)],
                               {n: {} for n in self.systems}, data.id, "", {n: {} for n in self.systems})  # fmt: skip
            units = task_.units()
            recs = [task_.run(u) for u in tqdm(units, desc=f"systems on {data.id}", disable=not progress, unit="sys")]
            out = task_.combine(recs)
            runs = {n: (out.runs[0][n], out.seconds[0][n]) for n in self.systems}
        frames = []
        for name in self.systems:
            results, seconds = runs[name]
            self.timings[name] = seconds  # a stored run reports the compute time it took when it was made
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
