"""Run a validated pipeline into a run directory.

Outputs (all inside the run directory):

* ``runs/<dataset>/<system>.trec`` — TREC run files (also the per-system checkpoints),
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
from pathlib import Path
from typing import Any

import pandas as pd

from irrobust import paths
from irrobust.core.transformer import Transformer, add_ranks
from irrobust.data.dataset import Dataset, dataset, train_split_of
from irrobust.errors import IrrobustError
from irrobust.evaluate.results import RunResults, SignificanceSettings, VarianceSettings, build_results
from irrobust.evaluate.table import summarize
from irrobust.pipeline.config import RetrievalPipeline
from irrobust.pipeline.experiment import Experiment
from irrobust.pipeline.provenance import environment_info
from irrobust.pipeline.registry import StageContext
from irrobust.pipeline.rundir import STATE, RunDir, now
from irrobust.pipeline.systems import LEARNED_FAMILIES, build_system, system_family
from irrobust.util.io import atomic_write_json, atomic_write_text, sha256_json
from irrobust.util.names import slug


def write_trec(path: Path, results: pd.DataFrame, tag: str) -> None:
    """Write a run in TREC format (``qid Q0 docno rank score tag``) atomically.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "r.trec"
        >>> write_trec(p, pd.DataFrame({"qid": ["1"], "docno": ["d"], "rank": [1], "score": [2.5]}), "bm25")
        >>> p.read_text()
        '1 Q0 d 1 2.5 bm25\\n'
    """
    lines = [f"{q} Q0 {d} {int(r)} {s!r} {tag}\n" for q, d, r, s in
             zip(results["qid"], results["docno"], results["rank"], results["score"].astype(float), strict=True)]  # fmt: skip
    atomic_write_text(path, "".join(lines))


def read_trec(path: Path) -> pd.DataFrame:
    """Read a TREC run file written by :func:`write_trec`.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "r.trec"; _ = p.write_text("1 Q0 d 1 2.5 x\\n")
        >>> read_trec(p).values.tolist()
        [['1', 'd', 2.5, 1]]
    """
    df = pd.read_csv(path, sep=" ", header=None, names=["qid", "q0", "docno", "rank", "score", "tag"],
                     dtype={"qid": str, "docno": str}, keep_default_na=False)  # fmt: skip
    return df[["qid", "docno", "score", "rank"]]


class RunCache:
    """Per-system run files of one dataset, reused when the system's spec hash is unchanged.

    Example:
        >>> RunCache(RunDir(Path("/tmp/r"), "h"), "cranfield", {"bm25": "abc"}).specs
        {'bm25': 'abc'}
    """

    def __init__(self, rd: RunDir, ds_id: str, specs: dict[str, str]) -> None:
        self.rd, self.ds_id, self.specs = rd, ds_id, specs

    def _base(self, name: str) -> Path:
        return self.rd.file(f"runs/{slug(self.ds_id)}/{slug(name)}")

    def load(self, name: str) -> tuple[pd.DataFrame, float | None] | None:
        """The saved run of ``name`` and its compute seconds (``None`` in older checkpoints) if it was made by the
        same spec, else ``None``."""
        base = self._base(name)
        meta, trec = base.with_suffix(".json"), base.with_suffix(".trec")
        if meta.is_file() and trec.is_file():
            info = json.loads(meta.read_text())
            if info.get("spec") == self.specs[name]:
                return add_ranks(read_trec(trec)), info.get("seconds")
        return None

    def save(self, name: str, results: pd.DataFrame, seconds: float) -> None:
        """Write the run file, then its spec and compute time (so a run file without a spec is never trusted)."""
        base = self._base(name)
        write_trec(base.with_suffix(".trec"), results, slug(name))
        atomic_write_json(base.with_suffix(".json"), {"system": name, "dataset": self.ds_id, "spec": self.specs[name],
                                                      "seconds": seconds})  # fmt: skip


def _queries_hash(queries: pd.DataFrame) -> str:
    return hashlib.sha256(
        pd.util.hash_pandas_object(queries[["qid", "query"]], index=False).to_numpy().tobytes()
    ).hexdigest()


def _dataset_info(ds: Dataset) -> dict[str, Any]:
    qrels_bytes = ds.qrels.to_csv(index=False).encode()
    return {"collection": ds.collection, "docs_checksum": ds.docs_checksum, "documents": len(ds.docs),
            "queries": len(ds.queries), "qrels_sha256": hashlib.sha256(qrels_bytes).hexdigest(),
            "judgements": len(ds.qrels),
            "source_check": getattr(ds, "source_check", None)}  # fmt: skip


#: ranker families trained on a training split (the seen / unseen split of the report applies to them)
class _Evaluator:
    """Runs systems on (dataset, queries, condition) with run-file checkpoints, collecting long-table rows."""

    def __init__(self, cfg: RetrievalPipeline, rd: RunDir, progress: bool) -> None:
        self.cfg, self.rd, self.progress = cfg, rd, progress
        self.tables: list[pd.DataFrame] = []
        self.comparisons: list[pd.DataFrame] = []
        self.timings: dict[str, float] = {}
        self.indexes: dict[str, Any] = {}
        self.datasets: dict[str, Any] = {}
        self.clean_done: set[str] = set()

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

    def evaluate(self, ds: Dataset, built: dict[str, Transformer], queries: pd.DataFrame, task: str,
                 condition: str) -> Experiment:  # fmt: skip
        qhash = _queries_hash(queries)
        specs = {
            s.name: sha256_json({"config": s.model_dump(mode="json"), "stage": built[s.name].spec(), "dataset": ds.id,
                                 "docs": ds.docs_checksum, "queries": qhash})
            for s in self.cfg.systems
        }  # fmt: skip
        folder = ds.id if condition == "clean" else f"{ds.id}/{task}/{condition}"
        cache = RunCache(self.rd, folder, specs)
        sig = self.cfg.significance
        exp = Experiment(built, ds, self.cfg.measures, self.cfg.baseline, sig.test, sig.correction, sig.alpha,
                         task=task, condition=condition, queries=queries[["qid", "query"]], progress=self.progress,
                         load_run=cache.load, save_run=cache.save)  # fmt: skip
        self.tables.append(exp.table)
        if task == "effectiveness":
            self.comparisons.append(exp.compare())
            self.clean_done.add(ds.id)
            self.datasets[ds.id] = _dataset_info(ds)
        self.timings.update({f"{ds.id}/{task}/{condition}/{k}": v for k, v in exp.timings.items()})
        return exp


def run_retrieval(cfg: RetrievalPipeline, rd: RunDir, progress: bool = True, executor: Any = None) -> dict[str, Any]:
    """Evaluate every system on every dataset, run the robustness tasks, write tables and reports into ``rd``.

    The units of the attack and certification tasks run on ``executor`` (:mod:`irrobust.core.executor`; default:
    in this process); the outputs do not depend on it.

    Example:
        >>> run_retrieval(cfg, rd)  # doctest: +SKIP
    """

    ev = _Evaluator(cfg, rd, progress)
    shift_stats: list[dict[str, Any]] = []
    attack_outs: list[Any] = []  # AttackOutput per dataset (irrobust.pipeline.attack_task)
    certify_outs: list[Any] = []  # CertifyOutput per dataset (irrobust.pipeline.certify_task)
    learned = any(system_family(s) in LEARNED_FAMILIES for s in cfg.systems)
    splits: dict[str, Any] = {}  # seen / unseen relevant documents, for datasets with training qrels
    for ds_id in cfg.datasets:
        ds = dataset(ds_id)
        ds.validate()
        built = ev.build(ds)
        if cfg.max_queries is not None:  # a seeded sample of the queries, evaluated on their own qrels (quick runs)
            ds = sample_queries(ds, cfg.max_queries, cfg.seed)
        queries = ds.queries
        ev.evaluate(ds, built, queries, "effectiveness", "clean")
        if learned and train_split_of(ds_id) is not None:
            from irrobust.data.overlap import seen_split

            splits[ds_id] = seen_split(ds.qrels, dataset(train_split_of(ds_id)).qrels)
        for item in cfg.tasks.shifts.items if cfg.tasks.shifts else []:
            label = item.label or item.shift
            shift = item.stage
            variants = shift(queries)
            shift_stats.append({"dataset": ds_id, "condition": label, "shift": item.shift, "queries": len(variants),
                                "changed": int(variants["changed"].sum()),
                                "fallbacks": int((variants["fallback"] != "").sum())})  # fmt: skip
            atomic_write_text(rd.file(f"queries/{slug(ds_id)}/{slug(label)}.tsv"),
                              variants.to_csv(sep="\t", index=False))  # fmt: skip
            ev.evaluate(ds, built, variants, "query-shift", label)
        if cfg.tasks.attacks is not None:  # tasks 4-5 (irrobust.pipeline.attack_task)
            from irrobust.pipeline.attack_task import run_attack_task

            attack_outs.append(run_attack_task(cfg, ds, built, rd, progress=progress, executor=executor))
            ev.tables.append(attack_outs[-1].table)
            ev.timings.update(attack_outs[-1].timings)
        if cfg.tasks.certify is not None:  # CertDR certification (irrobust.pipeline.certify_task)
            from irrobust.pipeline.certify_task import run_certify_task

            certify_outs.append(run_certify_task(cfg, ds, built, rd, progress=progress, executor=executor))
            ev.tables.append(certify_outs[-1].table)
            ev.timings.update(certify_outs[-1].timings)
    for source in cfg.datasets if cfg.tasks.transfer else []:
        for target in cfg.tasks.transfer.targets:
            if target == source:
                continue
            tds = dataset(target)
            tds.validate()
            if cfg.max_queries is not None:
                tds = sample_queries(tds, cfg.max_queries, cfg.seed)
            transferred = ev.build(tds, train_dataset=_train_of(source))
            if train_split_of(target) is None:
                # No in-domain model can exist: the transferred systems are the target's only learned systems,
                # compared with the untrained baseline (BM25) in the effectiveness table.
                if target not in ev.clean_done:
                    ev.evaluate(tds, transferred, tds.queries, "effectiveness", "clean")
                continue
            if target not in ev.clean_done:  # the in-domain reference on the target
                ev.evaluate(tds, ev.build(tds), tds.queries, "effectiveness", "clean")
            ev.evaluate(tds, transferred, tds.queries, "domain-transfer", f"from {source}")

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
    families = {s.name: system_family(s) for s in cfg.systems}
    results = run_results(cfg, table, comp, families, ev.timings, shift_stats, attack_outs, certify_outs, splits)
    if results.memorization is not None:  # learned rankers: relevance matching or remembered documents?
        atomic_write_text(rd.file("seen_unseen.csv"), results.memorization.rows.to_csv(index=False))
    from irrobust.report import write_reports

    write_reports(results, rd.path)
    return {"datasets": ev.datasets, "indexes": ev.indexes, "timings": ev.timings, "families": families,
            "shifts": shift_stats, "attacks_skipped": [s for o in attack_outs for s in o.skipped]}  # fmt: skip


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
            if cfg.kind == "recsys":
                from irrobust.pipeline.recsys_runner import run_recsys_pipeline

                details = run_recsys_pipeline(cfg, rd, progress=progress)
            else:
                executor = cfg.executor.make()
                try:
                    details = {**run_retrieval(cfg, rd, progress=progress, executor=executor),
                               "executor": executor.describe()}  # fmt: skip
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
