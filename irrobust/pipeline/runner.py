"""Run a validated pipeline into a run directory.

Outputs (all inside the run directory):

* ``runs/<dataset>/<system>.trec`` — TREC run files (with a ``.json`` naming the run's spec hash and compute
  seconds); the runs themselves are units of a :class:`~irrobust.pipeline.experiment.SystemRuns` task, kept in the
  one unit store ``checkpoints/runs/`` (a killed run resumes from it),
* ``results.csv`` — the long per-query table ``dataset, system, task, condition, qid, measure, value``,
* ``summary.json`` — rows ``{dataset, system, task, condition, measure, value}`` with means,
* ``significance.csv`` — every comparison with the baseline (raw and corrected p-values),
* ``report.md`` and ``report.html`` — comparison tables with significance marks,
* ``manifest.json`` — provenance (config hash, versions, seeds, dataset checksums, index
  manifests, timings), written last.

Example:
    >>> from irrobust.pipeline.config import load_pipeline
    >>> run_pipeline(load_pipeline("pipelines/quickstart.yaml"), Path("runs/qs"))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from irrobust import paths
from irrobust.core.transformer import Transformer
from irrobust.data.dataset import Dataset, dataset, train_split_of
from irrobust.errors import IrrobustError
from irrobust.evaluate.results import RunResults, SignificanceSettings, VarianceSettings, build_results
from irrobust.evaluate.table import summarize
from irrobust.pipeline.config import RetrievalPipeline
from irrobust.pipeline.experiment import Condition, Experiment, SystemRuns, run_record
from irrobust.pipeline.provenance import environment_info
from irrobust.pipeline.registry import StageContext
from irrobust.pipeline.rundir import STATE, RunDir, now
from irrobust.pipeline.systems import LEARNED_FAMILIES, build_system, system_family
from irrobust.util.io import atomic_write_json, atomic_write_text, sha256_json
from irrobust.util.names import slug


def trec_text(results: pd.DataFrame, tag: str) -> str:
    """A run in TREC format (``qid Q0 docno rank score tag`` lines, the rows in their order).

    Example:
        >>> trec_text(pd.DataFrame({"qid": ["1"], "docno": ["d"], "rank": [1], "score": [2.5]}), "bm25")
        '1 Q0 d 1 2.5 bm25\\n'
    """
    return "".join(f"{q} Q0 {d} {int(r)} {s!r} {tag}\n" for q, d, r, s in
                   zip(results["qid"], results["docno"], results["rank"], results["score"].astype(float), strict=True))  # fmt: skip


def write_trec(path: Path, results: pd.DataFrame, tag: str) -> None:
    """Write a run in TREC format (``qid Q0 docno rank score tag``) atomically.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "r.trec"
        >>> write_trec(p, pd.DataFrame({"qid": ["1"], "docno": ["d"], "rank": [1], "score": [2.5]}), "bm25")
        >>> p.read_text()
        '1 Q0 d 1 2.5 bm25\\n'
    """
    atomic_write_text(path, trec_text(results, tag))


def read_trec(path: Path) -> pd.DataFrame:
    """Read a TREC run file written by :func:`write_trec` (scores read back exactly).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "r.trec"; _ = p.write_text("1 Q0 d 1 2.5 x\\n")
        >>> read_trec(p).values.tolist()
        [['1', 'd', 2.5, 1]]
    """
    df = pd.read_csv(path, sep=" ", header=None, names=["qid", "q0", "docno", "rank", "score", "tag"],
                     dtype={"qid": str, "docno": str}, keep_default_na=False,
                     float_precision="round_trip")  # fmt: skip  (every score exactly as written)
    return df[["qid", "docno", "score", "rank"]]


def _write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` atomically unless ``path`` holds it already (a resumed run leaves its run files untouched)."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    atomic_write_text(path, text)


def _dataset_info(ds: Dataset) -> dict[str, Any]:
    qrels_bytes = ds.qrels.to_csv(index=False).encode()
    return {"collection": ds.collection, "docs_checksum": ds.docs_checksum, "documents": len(ds.docs),
            "queries": len(ds.queries), "qrels_sha256": hashlib.sha256(qrels_bytes).hexdigest(),
            "judgements": len(ds.qrels),
            "source_check": getattr(ds, "source_check", None)}  # fmt: skip


class _Evaluator:
    """Runs systems on a dataset's conditions as one :class:`~irrobust.pipeline.experiment.SystemRuns` task (units
    on the executor, results in the one unit store ``checkpoints/runs/``), writes the run files, collects the
    long-table rows."""

    def __init__(self, cfg: RetrievalPipeline, rd: RunDir, progress: bool, executor: Any = None) -> None:
        from irrobust.core.executor import LocalExecutor

        self.cfg, self.rd, self.progress = cfg, rd, progress
        self.executor = executor if executor is not None else LocalExecutor()
        self.tables: list[pd.DataFrame] = []
        self.comparisons: list[pd.DataFrame] = []
        self.timings: dict[str, float] = {}
        self.indexes: dict[str, Any] = {}
        self.datasets: dict[str, Any] = {}
        self.clean_done: set[str] = set()
        self.clean_runs: dict[str, dict[str, pd.DataFrame]] = {}

    def build(self, ds: Dataset, train_dataset: str | None = None) -> dict[str, Transformer]:
        ctx = StageContext(ds, seed=self.cfg.seed, progress=self.progress, train_dataset=train_dataset)
        t0 = time.perf_counter()
        built: dict[str, Transformer] = {}
        for spec in self.cfg.systems:
            built[spec.name] = build_system(spec, ctx, built)
        if "index" in ctx.__dict__:
            self.indexes[ds.collection] = ctx.index.manifest
        self.timings[f"{ds.id}/build" + (f" (trained on {train_dataset})" if train_dataset else "")] = round(
            time.perf_counter() - t0, 3
        )
        return built

    def evaluate(self, ds: Dataset, built: dict[str, Transformer], conditions: list[Condition],
                 factory: Callable[[], dict[str, Transformer]] | None = None) -> list[Experiment]:  # fmt: skip
        """Run every system of ``built`` on every condition (missing units on the executor), then evaluate."""
        from irrobust.core.executor import run_task
        from irrobust.core.store import UnitStore
        from irrobust.core.task import WorkerState

        settings = {s.name: s.model_dump(mode="json") for s in self.cfg.systems}
        names = list(built)
        task = SystemRuns(WorkerState(factory, built) if factory else built, names, conditions,
                          {n: settings[n] for n in names}, ds.id, ds.docs_checksum,
                          {n: built[n].spec() for n in names})  # fmt: skip
        store = UnitStore(self.rd.file("checkpoints/runs/.keep").parent)
        self._adopt_run_files(task, store)

        def report(unit: Any, rec: Any) -> None:
            if self.progress:
                print(f"[runs] {unit.label}: {rec['seconds']:.1f}s", flush=True)

        out = run_task(task, store, self.executor, report)
        sig = self.cfg.significance
        exps = []
        for ci, cond in enumerate(task.conditions):
            folder = cond.folder(ds.id)
            for name in names:  # run files: outputs for other tools (rewritten only when they changed)
                base = self.rd.file(f"runs/{slug(folder)}/{slug(name)}")
                _write_if_changed(base.with_suffix(".trec"), trec_text(out.raw[ci][name], slug(name)))
                _write_if_changed(base.with_suffix(".json"), json.dumps(
                    {"system": name, "dataset": folder, "spec": sha256_json(task.spec_of(ci, name)),
                     "seconds": out.seconds[ci][name]}, indent=2, sort_keys=True) + "\n")  # fmt: skip
            runs = {n: (out.runs[ci][n], out.seconds[ci][n]) for n in names}
            exp = Experiment(built, ds, self.cfg.measures, self.cfg.baseline, sig.test, sig.correction, sig.alpha,
                             task=cond.task, condition=cond.condition, queries=cond.queries, progress=False,
                             runs=runs)  # fmt: skip
            self.tables.append(exp.table)
            if cond.task == "effectiveness":
                self.comparisons.append(exp.compare())
                self.clean_done.add(ds.id)
                self.clean_runs[ds.id] = dict(exp.runs)
                self.datasets[ds.id] = _dataset_info(ds)
            self.timings.update({f"{ds.id}/{cond.task}/{cond.condition}/{k}": v for k, v in exp.timings.items()})
            exps.append(exp)
        return exps

    def _adopt_run_files(self, task: SystemRuns, store: Any) -> None:
        """Runs a run directory of an earlier version holds as run files (``.trec`` + a ``.json`` naming the same
        spec and compute seconds) become unit records, so such a run resumes instead of recomputing them."""
        for unit in task.units():
            if unit.key in store:
                continue
            ci, name = unit.inputs["condition"], unit.inputs["system"]
            base = self.rd.path / "runs" / slug(task.conditions[ci].folder(task.dataset_id)) / slug(name)
            meta, trec = base.with_suffix(".json"), base.with_suffix(".trec")
            try:
                info = json.loads(meta.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(info, dict) or info.get("spec") != sha256_json(task.spec_of(ci, name)) \
                    or not isinstance(info.get("seconds"), int | float) or not trec.is_file():  # fmt: skip
                continue
            store.put(unit.key, run_record(read_trec(trec), info["seconds"]))


@dataclass
class TransferPlan:
    """Task 3 on one (source, target) pair: the target (loaded, validated), how to get the transferred systems and
    the in-domain reference on it (``None``: the target has none; the transferred systems are its only systems),
    and the training dataset of the transferred systems (for rebuilding them in worker processes).

    Example:
        >>> TransferPlan("a", None, lambda d, ev: {}, None, "a").in_domain is None
        True
    """

    source: str
    target: Any
    transferred: Callable[[Dataset, _Evaluator], dict[str, Transformer]]
    in_domain: Callable[[Dataset, _Evaluator], dict[str, Transformer]] | None
    train_dataset: str | None


class SystemSource(Protocol):
    """Where a run's systems come from: built from the pipeline file (:class:`ConfigSystems`) or given as built
    objects (the Python API, :mod:`irrobust.pipeline.study`). The one loop (:func:`run_tasks`) runs either.

    Example:
        >>> results, details, ev = run_tasks(cfg, rd, ConfigSystems(cfg))  # doctest: +SKIP
    """

    families: dict[str, str]

    def datasets(self) -> Iterator[Dataset]:
        """The evaluation datasets, loaded and validated, in order."""
        ...

    def build(self, ds: Dataset, ev: _Evaluator) -> dict[str, Transformer]:
        """The systems on ``ds`` (named, memoised), in the configuration's order."""
        ...

    def worker_factory(self, ds_id: str, train_dataset: str | None) -> Callable[[], dict[str, Transformer]] | None:
        """A picklable builder of the same systems in another process, or ``None`` when there is none."""
        ...

    def transfers(self) -> Iterator[TransferPlan]:
        """Task 3's (source, target) pairs, in order."""
        ...


def _worker_systems(config: dict[str, Any], ds_id: str, train_dataset: str | None) -> dict[str, Transformer]:
    """Every system of the pipeline, built in a worker process (:mod:`irrobust.pipeline.workers`)."""
    from irrobust.pipeline.workers import worker_system

    return {s["name"]: worker_system(config, ds_id, s["name"], train_dataset)[2] for s in config["systems"]}


class ConfigSystems:
    """The systems of a pipeline file: built from their specs on each dataset (``irrobust run``).

    Example:
        >>> from irrobust.pipeline.config import parse_pipeline
        >>> cfg = parse_pipeline({"name": "x", "datasets": ["cranfield"], "systems": [
        ...     {"name": "bm25", "stages": [{"ranker": "bm25"}]}, {"name": "ql", "stages": [{"ranker": "ql"}]}]})
        >>> ConfigSystems(cfg).families
        {'bm25': 'lexical', 'ql': 'lexical'}
    """

    def __init__(self, cfg: RetrievalPipeline) -> None:
        self.cfg = cfg
        self.families = {s.name: system_family(s) for s in cfg.systems}
        self.config = cfg.model_dump(mode="json", exclude={"executor"})

    def datasets(self) -> Iterator[Dataset]:
        for ds_id in self.cfg.datasets:
            ds = dataset(ds_id)
            ds.validate()
            yield ds

    def build(self, ds: Dataset, ev: _Evaluator) -> dict[str, Transformer]:
        return ev.build(ds)

    def worker_factory(self, ds_id: str, train_dataset: str | None) -> Callable[[], dict[str, Transformer]]:
        import functools

        return functools.partial(_worker_systems, self.config, ds_id, train_dataset)

    def transfers(self) -> Iterator[TransferPlan]:
        cfg = self.cfg
        for source in cfg.datasets if cfg.tasks.transfer else []:
            for target in cfg.tasks.transfer.targets:
                if target == source:
                    continue
                tds = dataset(target)
                tds.validate()
                train = _train_of(source)
                # no in-domain model can exist without a training split: the transferred systems are the target's
                # only learned systems, compared with the untrained baseline (BM25) in the effectiveness table
                in_domain = None if train_split_of(target) is None else (lambda d, ev: ev.build(d))
                yield TransferPlan(source, tds, lambda d, ev, train=train: ev.build(d, train_dataset=train), in_domain,
                                   train)  # fmt: skip


def run_tasks(cfg: RetrievalPipeline, rd: RunDir, source: SystemSource, progress: bool = True,
              executor: Any = None) -> tuple[RunResults, dict[str, Any], _Evaluator]:  # fmt: skip
    """The one loop of a retrieval run (``irrobust run`` and ``ir.experiment``): per dataset the clean and shifted
    runs, the attacks and the certificates; then domain transfer; then the tables, the results object and the
    reports in ``rd``. Every task's units run on ``executor`` (default: in this process) through the one unit
    store; the outputs do not depend on it.

    Returns the results object, the run's details (for the manifest) and the evaluator (its clean runs).

    Example:
        >>> results, details, ev = run_tasks(cfg, rd, ConfigSystems(cfg))  # doctest: +SKIP
    """
    ev = _Evaluator(cfg, rd, progress, executor)
    shift_stats: list[dict[str, Any]] = []
    attack_outs: list[Any] = []  # AttackOutput per dataset (irrobust.pipeline.attack_task)
    certify_outs: list[Any] = []  # CertifyOutput per dataset (irrobust.pipeline.certify_task)
    learned = any(f in LEARNED_FAMILIES for f in source.families.values())
    splits: dict[str, Any] = {}  # seen / unseen relevant documents, for datasets with training qrels
    for ds in source.datasets():
        ds_id = ds.id
        built = source.build(ds, ev)
        if cfg.max_queries is not None:  # a seeded sample of the queries, evaluated on their own qrels (quick runs)
            ds = sample_queries(ds, cfg.max_queries, cfg.seed)
        queries = ds.queries
        conditions = [Condition("effectiveness", "clean", queries)]
        if learned and train_split_of(ds_id) is not None:
            from irrobust.data.overlap import seen_split

            splits[ds_id] = seen_split(ds.qrels, dataset(train_split_of(ds_id)).qrels)
        for item in cfg.tasks.shifts.items if cfg.tasks.shifts else []:
            label = item.label or item.shift
            variants = item.stage(queries)
            shift_stats.append({"dataset": ds_id, "condition": label, "shift": item.shift, "queries": len(variants),
                                "changed": int(variants["changed"].sum()),
                                "fallbacks": int((variants["fallback"] != "").sum())})  # fmt: skip
            atomic_write_text(rd.file(f"queries/{slug(ds_id)}/{slug(label)}.tsv"),
                              variants.to_csv(sep="\t", index=False))  # fmt: skip
            conditions.append(Condition("query-shift", label, variants))
        ev.evaluate(ds, built, conditions, source.worker_factory(ds_id, None))
        if cfg.tasks.attacks is not None:  # tasks 4-5 (irrobust.pipeline.attack_task)
            from irrobust.pipeline.attack_task import run_attack_task

            attack_outs.append(run_attack_task(cfg, ds, built, rd, progress=progress, executor=ev.executor))
            ev.tables.append(attack_outs[-1].table)
            ev.timings.update(attack_outs[-1].timings)
        if cfg.tasks.certify is not None:  # CertDR certification (irrobust.pipeline.certify_task)
            from irrobust.pipeline.certify_task import run_certify_task

            certify_outs.append(run_certify_task(cfg, ds, built, rd, progress=progress, executor=ev.executor))
            ev.tables.append(certify_outs[-1].table)
            ev.timings.update(certify_outs[-1].timings)
    for plan in source.transfers():  # task 3
        tds = plan.target
        if cfg.max_queries is not None:
            tds = sample_queries(tds, cfg.max_queries, cfg.seed)
        transferred = plan.transferred(tds, ev)
        moved = source.worker_factory(tds.id, plan.train_dataset)
        if plan.in_domain is None:
            if tds.id not in ev.clean_done:
                ev.evaluate(tds, transferred, [Condition("effectiveness", "clean", tds.queries)], moved)
            continue
        if tds.id not in ev.clean_done:  # the in-domain reference on the target
            ev.evaluate(tds, plan.in_domain(tds, ev), [Condition("effectiveness", "clean", tds.queries)],
                        source.worker_factory(tds.id, None))  # fmt: skip
        ev.evaluate(tds, transferred, [Condition("domain-transfer", f"from {plan.source}", tds.queries)], moved)

    table = pd.concat(ev.tables, ignore_index=True)
    comp = pd.concat([c for c in ev.comparisons if len(c)], ignore_index=True) if any(len(c) for c in ev.comparisons) \
        else pd.DataFrame()  # fmt: skip
    atomic_write_text(rd.file("results.csv"), table.to_csv(index=False))
    atomic_write_json(rd.file("summary.json"), summarize(table).to_dict(orient="records"))
    atomic_write_text(rd.file("significance.csv"), comp.to_csv(index=False))
    if attack_outs:
        from irrobust.pipeline.attack_task import write_attack_outputs

        write_attack_outputs(rd, attack_outs)
    if certify_outs:
        from irrobust.pipeline.certify_task import write_certify_outputs

        write_certify_outputs(rd, certify_outs)
    families = dict(source.families)
    results = run_results(cfg, table, comp, families, ev.timings, shift_stats, attack_outs, certify_outs, splits)
    if results.memorization is not None:  # learned rankers: relevance matching or remembered documents?
        atomic_write_text(rd.file("seen_unseen.csv"), results.memorization.rows.to_csv(index=False))
    from irrobust.report import write_reports

    write_reports(results, rd.path)
    details = {"datasets": ev.datasets, "indexes": ev.indexes, "timings": ev.timings, "families": families,
               "shifts": shift_stats, "attacks_skipped": [s for o in attack_outs for s in o.skipped],
               "certify_skipped": [s for o in certify_outs for s in o.skipped]}  # fmt: skip
    return results, details, ev


def run_retrieval(cfg: RetrievalPipeline, rd: RunDir, progress: bool = True, executor: Any = None) -> dict[str, Any]:
    """Evaluate every system of a pipeline file on every dataset, run the robustness tasks, write tables and reports
    into ``rd`` (:func:`run_tasks` with the systems built from their specs); the run's details for the manifest.

    The units of every task run on ``executor`` (:mod:`irrobust.core.executor`; default: in this process); the
    outputs do not depend on it.

    Example:
        >>> run_retrieval(cfg, rd)  # doctest: +SKIP
    """
    return run_tasks(cfg, rd, ConfigSystems(cfg), progress=progress, executor=executor)[1]


def run_results(cfg: RetrievalPipeline, table: pd.DataFrame, comp: pd.DataFrame, families: dict[str, str],
                timings: dict[str, float], shift_stats: list[dict[str, Any]], attack_outs: list[Any],
                certify_outs: list[Any], splits: dict[str, Any]) -> RunResults:  # fmt: skip
    """The run's results object (:func:`irrobust.evaluate.results.build_results`) from its tables and settings.

    Example:
        >>> run_results(cfg, table, comp, families, {}, [], [], [], {})  # doctest: +SKIP
    """
    sig, tasks = cfg.significance, cfg.tasks
    variance = None
    if tasks.variance is not None:
        variance = VarianceSettings(tuple(tasks.variance.worst_fractions), tasks.variance.bootstrap,
                                    tasks.variance.alpha)  # fmt: skip
    details = [o.details for o in attack_outs if len(o.details)]
    certs = [o.details for o in certify_outs]
    return build_results(
        cfg.name, cfg.description, table, baseline=cfg.baseline, measure=cfg.robustness_measure or cfg.measures[0],
        families=families, comparisons=comp, significance=SignificanceSettings(sig.test, sig.correction, sig.alpha),
        seed=cfg.seed, timings=timings, variance=variance, shifts=tasks.shifts is not None,
        shift_stats=pd.DataFrame(shift_stats), transfer_targets=tasks.transfer.targets if tasks.transfer else None,
        attack_details=pd.concat(details, ignore_index=True) if details else None,
        certify_details=pd.concat(certs, ignore_index=True) if certs else None, splits=splits or None,
    )  # fmt: skip


def sample_queries(ds: Dataset, n: int, seed: int) -> Dataset:
    """A view of ``ds`` with a seeded sample of ``n`` queries and only their qrels (same ID, documents).

    Example:
        >>> sample_queries(dataset("cranfield"), 5, 42).queries.shape[0]   # doctest: +SKIP
        5
    """
    import copy

    from irrobust.rankers.training import select_queries

    queries = select_queries(ds.queries, n, seed)
    view = copy.copy(ds)
    view.__dict__["queries"] = queries  # the cached properties of the view
    view.__dict__["qrels"] = ds.qrels[ds.qrels["qid"].astype(str).isin(set(queries["qid"].astype(str)))]
    return view


def _train_of(dataset_id: str) -> str:
    return train_split_of(dataset_id) or dataset_id


def default_out(cfg: Any) -> Path:
    """Default run directory: ``<home>/runs/<name>``.

    Example:
        >>> default_out(type("C", (), {"name": "qs"})()).name
        'qs'
    """
    return paths.home() / "runs" / cfg.name


def run_pipeline(cfg: Any, out: Path | None = None, progress: bool = True, force: bool = False) -> Path:
    """Run a validated pipeline (retrieval or recsys); return the finished run directory.

    The run holds the run directory's lock throughout (a concurrent run into the same directory is refused with a
    :class:`~irrobust.pipeline.rundir.RunLocked` error). Any failure after the run started leaves ``run.json``
    marked ``failed`` (with the traceback of an unexpected error) and is raised as an :class:`IrrobustError`
    naming the run directory (exit code 2 in the CLI); a finished run that a failed rerun did not change stays
    finished (:meth:`RunDir.fail`).

    Example:
        >>> run_pipeline(load_pipeline("pipelines/quickstart.yaml"), Path("/tmp/qs"))  # doctest: +SKIP
    """
    import traceback

    config = cfg.model_dump(mode="json", exclude={"executor"})  # who runs the units is not part of a run's identity
    config_hash = sha256_json(config)
    if getattr(cfg, "kind", "retrieval") == "retrieval":
        for ds_id in cfg.datasets:  # fail on unknown datasets before anything is written
            dataset(ds_id)
    rd = RunDir(Path(out) if out else default_out(cfg), config_hash, force=force)
    rd.lock()
    try:
        rd.prepare()
        started, t0 = now(), time.perf_counter()
        try:
            executor = cfg.executor.make()
            try:
                if cfg.kind == "recsys":
                    from irrobust.pipeline.recsys_runner import run_recsys_pipeline

                    details = run_recsys_pipeline(cfg, rd, progress=progress, executor=executor)
                else:
                    details = run_retrieval(cfg, rd, progress=progress, executor=executor)
                details = {**details, "executor": executor.describe()}
            finally:
                executor.close()
            manifest = {"name": cfg.name, "kind": cfg.kind, "config_hash": config_hash, "config": config,
                        "seed": cfg.seed, "started_at": started, "finished_at": now(),
                        "wall_seconds": round(time.perf_counter() - t0, 2), "environment": environment_info(),
                        **details}  # fmt: skip
            rd.finish(manifest)
        except IrrobustError as exc:
            rd.fail(f"{type(exc).__name__}: {exc}")
            raise
        except Exception as exc:  # an unexpected failure (e.g. Lucene rejecting a value inside the JVM)
            rd.fail(f"{type(exc).__name__}: {exc}", details=traceback.format_exc())
            raise IrrobustError(f"the run failed after it started ({type(exc).__name__}: {exc}); the run directory "
                                f"is marked failed and {STATE} holds the traceback; fix the cause and rerun the same "
                                "command to resume", where=str(rd.path)) from exc  # fmt: skip
        except BaseException as exc:  # interrupted (Ctrl-C): resumable
            rd.fail(f"{type(exc).__name__}: interrupted")
            raise
    finally:
        rd.unlock()
    return rd.path
