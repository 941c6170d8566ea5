"""The whole robustness suite from Python: :func:`study` runs systems built in Python through the pipeline's tasks.

A pipeline file and this API build the same objects. :func:`study_config` turns the arguments into the
:class:`~irrobust.pipeline.config.RetrievalPipeline` a pipeline file validates into — the same task sections
(``tasks.shifts`` items with their shift stages, ``tasks.attacks`` items with their recipes, ``tasks.certify``,
``tasks.variance``), the same significance settings — by the same validation (:mod:`irrobust.pipeline.config`). The
only difference is where the systems come from: already-built stages (``ir.BM25(index) % 100 >> ce``) instead of
stage specs; each appears in the configuration as ``{name, stages: [{ranker: python, params: {spec: ...}}]}`` with
the stage's :meth:`~irrobust.core.transformer.Transformer.spec` (so the run's configuration hash changes when a
system does). :func:`run_study` then runs them through the runner's one loop,
:func:`~irrobust.pipeline.runner.run_tasks` (the same code ``irrobust run`` runs; only the source of the systems
differs, :class:`GivenSystems`), into a run directory laid out like ``irrobust run``'s. ``tests/foundation/test_api.py`` checks that a pipeline file and this API give
identical results tables.

The result is one :class:`Study`: ``.summary()`` (mean per system and measure), ``.compare()`` (each system against
the baseline), ``.most_robust()`` (the report's opening summary: per task, the most robust system, its lead with a
confidence interval and the sample sizes), ``.table`` (every per-query value), ``.to_markdown()``,
``.to_html(path)``, and rich displays in notebooks.

The units of every task run in this process (systems built in Python cannot be rebuilt on
Ray workers; use a pipeline file with ``executor: ray`` for that).

Example:
    >>> import irrobust as ir
    >>> ds = ir.dataset("cranfield")                                               # doctest: +SKIP
    >>> idx = ir.lucene_index(ds)                                                   # doctest: +SKIP
    >>> s = ir.experiment({"bm25": ir.BM25(idx), "ql": ir.QL(idx)}, ds, ["nDCG@10"],
    ...                   shifts=["typos"], attacks=["query_stuffing"],
    ...                   certify={"max_queries": 5, "samples": 16})               # doctest: +SKIP
    >>> s.most_robust()[["task", "winner", "margin"]]                               # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from irrobust.core.transformer import Transformer
from irrobust.data.dataset import Dataset
from irrobust.errors import ConfigError, IrrobustError

#: the ranker name a system built in Python carries in the configuration (never a registered ranker, so a pipeline
#: file naming it is refused with the list of rankers)
PYTHON_RANKER = "python"

#: ranker family of the final stage's class (for the report's family column, the scorecard's neural verdict and the
#: seen / unseen split of learned rankers); other classes: ``families=`` or "custom"
_FAMILY_OF_CLASS = {
    "BM25": "lexical", "QL": "lexical", "RM3": "lexical", "LuceneRetriever": "lexical",
    "DenseRetriever": "dense", "DenseReranker": "dense", "CrossEncoderReranker": "cross-encoder",
    "KNRMReranker": "interaction", "LTRReranker": "ltr", "RRF": "fusion", "ScoreSum": "fusion",
}  # fmt: skip


@dataclass
class Transfer:
    """Task 3 on one target dataset, with systems built in Python.

    ``transferred``: the systems whose learned parts were trained on the source dataset, built on the target;
    ``in_domain``: the same systems trained on the target's own training data (the reference the drop is measured
    against). Without ``in_domain`` the transferred systems are the target's only systems (what a pipeline file does
    for a target without a training split): they appear in the effectiveness table, and there is no drop to measure.

    Example:
        >>> Transfer("beir/nfcorpus/test", {"bm25": object()}).in_domain is None
        True
    """

    target: Dataset | str
    transferred: Mapping[str, Transformer]
    in_domain: Mapping[str, Transformer] | None = None


def family_of(system: Transformer) -> str:
    """The ranker family of a built system: by its final stage's class (``custom`` for classes irrobust does not
    know, e.g. a :class:`~irrobust.rankers.function.FunctionRanker`).

    Example:
        >>> from irrobust.core.transformer import Identity, RRF
        >>> family_of(RRF([Identity(), Identity()])), family_of(Identity())
        ('fusion', 'custom')
    """
    stage = system
    while True:  # through memos and compositions; a trailing rank cutoff is not the scoring stage
        stages = getattr(stage, "stages", None)
        if isinstance(stages, list) and stages:
            scoring = [s for s in stages if type(s).__name__ != "RankCutoff"]
            stage = scoring[-1] if scoring else stages[-1]
        elif type(stage).__name__ == "Memo":
            stage = stage.final()
        else:
            break
    return _FAMILY_OF_CLASS.get(type(stage).__name__, "custom")


def ranker(name: str, data: Dataset | str, *, seed: int = 42, progress: bool = True,
           train_dataset: str | None = None, **params: Any) -> Transformer:  # fmt: skip
    """Build the registered ranker ``name`` on ``data`` exactly as the pipeline stage ``{ranker: name, params: {...}}``
    is built: the same parameter model (defaults, bounds, unknown keys refused), the same factory.

    This is the Python way to every ranker a pipeline file can name (``irrobust components`` lists them): ``dense``,
    ``dense_rerank``, ``cross_encoder``, ``knrm``, ``ltr``, the noisy-trained ``knrm_noisy`` / ``ce_noisy``, plugins.
    Learned rankers load their cached model (or train it, unless ``fit=False``); ``train_dataset`` sets the training
    data of domain transfer. ``model=`` takes an external CrossEncoder / SentenceTransformer directory or hub id.

    Example:
        >>> import irrobust as ir
        >>> ds = ir.dataset("beir/scifact/test")                                 # doctest: +SKIP
        >>> dense = ir.ranker("dense", ds, k=100)                                 # doctest: +SKIP
        >>> ce = ir.ranker("cross_encoder", ds, model="path/to/my-cross-encoder")  # doctest: +SKIP
        >>> system = ir.BM25(ir.lucene_index(ds)) % 20 >> ce                      # doctest: +SKIP
    """
    from pydantic import ValidationError

    from irrobust.data.dataset import dataset as load_dataset
    from irrobust.pipeline.config import format_validation_error
    from irrobust.pipeline.registry import RANKERS, StageContext

    where = f"ir.ranker({name!r})"
    entry = RANKERS.get(name, where=where)
    try:
        p = entry.params.model_validate(params, context={"pipeline_dir": None})
    except ValidationError as exc:
        raise format_validation_error(exc, where, entry.params) from None
    ds = load_dataset(data) if isinstance(data, str) else data
    return entry.build(StageContext(ds, seed=seed, progress=progress, train_dataset=train_dataset), p)


def _shift_item(item: Any, where: str) -> dict[str, Any]:
    """A ``tasks.shifts.items`` entry from a shift object, a registered name or a spec mapping."""
    from irrobust.shifts.base import QueryShift

    if isinstance(item, str):
        return {"shift": item}
    if isinstance(item, QueryShift):
        params = item.params()
        if "shifts" in params:  # a mixed shift: its steps as specs (name, parameters, label)
            params["shifts"] = [{"name": s.kind, **s.params(), "label": s.name} for s in item.shifts]
        spec: dict[str, Any] = {"shift": item.kind, "params": params}
        if item.name != item.kind:
            spec["label"] = item.name
        return spec
    if isinstance(item, Mapping):
        return dict(item)
    raise ConfigError(f"a shift is a shift object, a registered name or a mapping {{shift, params, label}}, got "
                      f"{type(item).__name__}", where=where)  # fmt: skip


def _attack_item(item: Any, where: str) -> dict[str, Any]:
    """A ``tasks.attacks.items`` entry from a registered recipe name, a spec mapping or a recipe object."""
    from irrobust.attacks.recipe import Recipe

    if isinstance(item, str):
        return {"attack": item}
    if isinstance(item, Recipe):
        spec = item.spec()
        return {"attack": spec["recipe"], "params": spec["params"]}
    if isinstance(item, Mapping):
        return dict(item)
    raise ConfigError(f"an attack is a recipe name, a mapping {{attack, params, label}} or a recipe object, got "
                      f"{type(item).__name__}", where=where)  # fmt: skip


def _section(value: Any, key: str, convert: Any, where: str) -> dict[str, Any] | None:
    """A task section from a list of items or a mapping of the section's keys (its ``items`` converted)."""
    if value is None or value is False:
        return None
    if isinstance(value, Mapping):
        section = dict(value)
        if "items" in section:
            section["items"] = [convert(x, f"{where}.items[{i}]") for i, x in enumerate(section["items"])]
        return section
    if isinstance(value, str) or not isinstance(value, Sequence):
        value = [value]
    return {"items": [convert(x, f"{where}[{i}]") for i, x in enumerate(value)]}


def _options(value: Any) -> dict[str, Any] | None:
    """A task section given as ``True`` (defaults), a mapping of its keys, or ``None`` / ``False`` (not run)."""
    if value is None or value is False:
        return None
    if value is True:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    raise ConfigError(f"give True or a mapping of the section's keys, got {type(value).__name__}")


def study_config(systems: Mapping[str, Transformer], dataset_id: str, measures: Sequence[str] | None = None, *,
                 name: str = "experiment", description: str = "", seed: int = 42, baseline: str | None = None,
                 test: str = "t", correction: str = "holm", alpha: float = 0.05, shifts: Any = None,
                 attacks: Any = None, certify: Any = None, variance: Any = None,
                 transfer_targets: Sequence[str] | None = None, robustness_measure: str | None = None,
                 max_queries: int | None = None) -> Any:  # fmt: skip
    """The validated :class:`~irrobust.pipeline.config.RetrievalPipeline` of an experiment on built ``systems``.

    The mapping handed to the pipeline schema is what a pipeline file would hold, the systems aside (see the module
    docstring); it is validated by the same checks as a file (names and baseline, dataset IDs, shift stages, attack
    recipes and labels, certification settings), so every mistake is the same located
    :class:`~irrobust.errors.ConfigError` (``where`` starts with ``ir.experiment``).

    Example:
        >>> from irrobust.core.transformer import Identity
        >>> cfg = study_config({"a": Identity()}, "cranfield", ["nDCG@10"], shifts=["typos"])
        >>> cfg.tasks.shifts.items[0].stage.spec()["type"], cfg.systems[0].stages[0].ranker
        ('Typos', 'python')
    """
    from pydantic import ValidationError

    from irrobust.pipeline import config as pc
    from irrobust.pipeline.attack_config import check_attacks
    from irrobust.pipeline.certify_config import check_certify

    source = "ir.experiment"
    data: dict[str, Any] = {
        "name": name, "description": description, "seed": seed, "datasets": [dataset_id],
        "baseline": baseline, "significance": {"test": test, "correction": correction, "alpha": alpha},
        "systems": [{"name": n, "stages": [{"ranker": PYTHON_RANKER, "params": {"spec": s.spec()}}]}
                    for n, s in systems.items()],
        "robustness_measure": robustness_measure, "max_queries": max_queries,
    }  # fmt: skip
    if measures is not None:
        data["measures"] = list(measures)
    tasks: dict[str, Any] = {}
    sections = {"variance": _options(variance), "shifts": _section(shifts, "shift", _shift_item, f"{source}: shifts"),
                "attacks": _section(attacks, "attack", _attack_item, f"{source}: attacks"),
                "certify": _options(certify),
                "transfer": {"targets": list(transfer_targets)} if transfer_targets else None}  # fmt: skip
    tasks = {k: v for k, v in sections.items() if v is not None}
    if tasks:
        data["tasks"] = tasks
    pc._check_finite(data, source)
    try:
        cfg = pc.RetrievalPipeline.model_validate(data)
    except ValidationError as exc:
        raise pc.format_validation_error(exc, source, pc.RetrievalPipeline) from None
    # parse_pipeline's checks, but the ranker lookup: the systems are built already
    pc._check_references(cfg, source)
    pc._check_datasets(cfg, source)
    pc._check_tasks(cfg, source)
    check_attacks(cfg, source)
    pc._check_attack_labels(cfg, source)
    check_certify(cfg, source)
    return cfg


@dataclass
class Study:
    """The report of one experiment: the results object of its run and the run directory it wrote.

    Attributes:
        results: the :class:`~irrobust.evaluate.results.RunResults` every report renders.
        config: the validated :class:`~irrobust.pipeline.config.RetrievalPipeline`.
        path: the run directory (``results.csv``, ``report.md``, ``report.html`` with its plots, checkpoints).
        runs: the clean run of each system (``qid, docno, score, rank``).

    Example:
        >>> Study.__dataclass_fields__.keys() >= {"results", "config", "path"}
        True
    """

    results: Any
    config: Any
    path: Path
    runs: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def table(self) -> pd.DataFrame:
        """The long per-query table ``dataset, system, task, condition, qid, measure, value`` (``results.csv``).

        Example:
            >>> study.table.task.unique()  # doctest: +SKIP
            array(['effectiveness', 'query-shift', 'term-spamming', 'certify', 'certify-clean'], dtype=object)
        """
        return self.results.table

    @property
    def systems(self) -> list[str]:
        """The system names, in the order given."""
        return [s.name for s in self.config.systems]

    @property
    def measures(self) -> list[str]:
        """The effectiveness measures (canonical names)."""
        return list(self.config.measures)

    def summary(self) -> pd.DataFrame:
        """Mean of each effectiveness measure (columns) per system (rows) on the clean queries.

        Example:
            >>> study.summary().loc["bm25", "nDCG@10"]  # doctest: +SKIP
            0.6789
        """
        t = self.table
        clean = t[(t.task == "effectiveness") & (t.condition == "clean")]
        wide = clean.groupby(["system", "measure"], sort=False)["value"].mean().unstack("measure")
        return wide.loc[[s for s in self.systems if s in wide.index], [m for m in self.measures if m in wide.columns]]

    def compare(self) -> pd.DataFrame:
        """Each system against the baseline per measure: means, delta, p-value, corrected p-value, significance.

        Example:
            >>> study.compare()[["system", "measure", "delta", "significant"]]  # doctest: +SKIP
        """
        return self.results.comparisons

    def most_robust(self) -> pd.DataFrame:
        """The summary the report opens with: per task and dataset, the most robust system, its criterion value, the
        runner-up, the lead with its paired bootstrap interval and mark, and the sample sizes.

        Example:
            >>> study.most_robust()[["task", "winner", "margin", "significant", "queries"]]  # doctest: +SKIP
        """
        from irrobust.evaluate.results import results_summary_table

        return results_summary_table(self.results)

    def scorecard(self) -> pd.DataFrame:
        """The robustness scorecard: one row per task and dataset with the winner among eligible systems.

        Example:
            >>> study.scorecard()  # doctest: +SKIP
        """
        return pd.DataFrame(self.results.scorecard.rows)

    def variance(self) -> pd.DataFrame:
        """Task 1: per system mean, std, variance, worst-fraction means and bootstrap CI (empty when not run).

        Example:
            >>> study.variance()[["system", "mean", "std"]]  # doctest: +SKIP
        """
        v = self.results.variance
        return v.stats if v is not None else pd.DataFrame()

    def shifts(self) -> pd.DataFrame:
        """Task 2: each system under each query shift against its clean queries (empty when not run).

        Example:
            >>> study.shifts()[["system", "condition", "relative_drop", "p_adjusted"]]  # doctest: +SKIP
        """
        s = self.results.shifts
        return s.comparisons if s is not None else pd.DataFrame()

    def transfer(self) -> pd.DataFrame:
        """Task 3: each transferred system against its in-domain reference (empty when not run).

        Example:
            >>> study.transfer()  # doctest: +SKIP
        """
        s = self.results.transfer
        return s.comparisons if s is not None else pd.DataFrame()

    def attacks(self) -> pd.DataFrame:
        """Tasks 4–5: per (dataset, system, attack, target set) means of the attack measures over the queries.

        Example:
            >>> study.attacks()[["system", "condition", "measure", "value"]]  # doctest: +SKIP
        """
        t = self.table
        rows = t[t.task.isin(["ranking-attack", "term-spamming"])]
        return rows.groupby(["dataset", "system", "task", "condition", "measure"], sort=False)["value"].mean() \
            .reset_index()  # fmt: skip

    def certificates(self) -> pd.DataFrame:
        """CertDR: CRQ@K per (dataset, system, rule and budget), the fraction of certified queries.

        Example:
            >>> study.certificates()[["system", "condition", "measure", "value"]]  # doctest: +SKIP
        """
        t = self.table
        rows = t[t.task == "certify"]
        return rows.groupby(["dataset", "system", "condition", "measure"], sort=False)["value"].mean().reset_index()

    def to_markdown(self) -> str:
        """The whole report as markdown (what ``report.md`` holds; plots are files under :attr:`path`).

        Example:
            >>> print(study.to_markdown()[:40])  # doctest: +SKIP
        """
        return (self.path / "report.md").read_text()

    def to_html(self, path: str | Path | None = None) -> str:
        """The self-contained HTML report (plots embedded as PNG); written to ``path`` when given.

        Example:
            >>> study.to_html("report.html")  # doctest: +SKIP
        """
        html = (self.path / "report.html").read_text()
        if path is not None:
            from irrobust.util.io import atomic_write_text

            atomic_write_text(Path(path), html)
        return html

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        import re

        body = re.search(r"<body[^>]*>(.*)</body>", self.to_html(), flags=re.S)
        return body.group(1) if body else self.to_html()

    def __repr__(self) -> str:
        tasks = [k for k, v in self.config.tasks if v is not None]
        return (f"Study({self.config.name!r}: {len(self.systems)} systems on {self.config.datasets[0]}, tasks: "
                f"effectiveness{''.join(', ' + t for t in tasks)}; report in {self.path})")  # fmt: skip


class GivenSystems:
    """The systems of :func:`run_study`: built in Python, given as objects (the Python API's
    :class:`~irrobust.pipeline.runner.SystemSource`; they cannot be rebuilt in another process).

    Example:
        >>> from irrobust.core.transformer import Identity
        >>> GivenSystems(None, {"a": Identity()}, {"a": "custom"}).families
        {'a': 'custom'}
    """

    def __init__(self, ds: Dataset, built: Mapping[str, Transformer], families: Mapping[str, str],
                 transfer: Sequence[Transfer] = ()) -> None:  # fmt: skip
        self.ds, self.built, self.families, self.transfer = ds, dict(built), dict(families), list(transfer)

    def datasets(self) -> Iterator[Dataset]:
        yield self.ds

    def build(self, ds: Dataset, ev: Any) -> dict[str, Transformer]:
        return self.built

    def worker_factory(self, ds_id: str, train_dataset: str | None) -> None:
        return None

    def transfers(self) -> Iterator[Any]:
        from irrobust.data.dataset import dataset as load
        from irrobust.pipeline.runner import TransferPlan

        for t in self.transfer:
            tds = load(t.target) if isinstance(t.target, str) else t.target
            if tds.id == self.ds.id:  # as in a pipeline file: a dataset is not its own transfer target
                continue
            moved = _memoised(t.transferred)
            ref = _memoised(t.in_domain) if t.in_domain is not None else None
            yield TransferPlan(self.ds.id, tds, lambda d, ev, moved=moved: moved,
                               (lambda d, ev, ref=ref: ref) if ref is not None else None, None)  # fmt: skip


def _memoised(systems: Mapping[str, Transformer]) -> dict[str, Transformer]:
    """Named, memoised systems (as :func:`~irrobust.pipeline.systems.build_system` makes them)."""
    from irrobust.core.transformer import Memo

    out = {n: (s if isinstance(s, Memo) else Memo(s)) for n, s in systems.items()}
    for n, s in out.items():
        s.name = n
    return out


def run_study(cfg: Any, ds: Dataset, systems: Mapping[str, Transformer], rd: Any, *,
              families: Mapping[str, str] | None = None, transfer: Sequence[Transfer] = (),
              progress: bool = True) -> tuple[Any, dict[str, pd.DataFrame], dict[str, Any]]:  # fmt: skip
    """Run a validated configuration on built ``systems`` into the run directory ``rd``, as ``irrobust run`` does
    for one dataset: the runner's one loop (:func:`~irrobust.pipeline.runner.run_tasks`) with the systems given
    (:class:`GivenSystems`): clean evaluation, tasks 1–5 and certification, the results tables and the reports. Every
    task's units run in this process.

    Returns the results object, the clean runs and the run's details (timings, families, shift statistics).

    Example:
        >>> results, runs, details = run_study(cfg, ds, {"bm25": bm25}, rd)  # doctest: +SKIP
    """
    from irrobust.core.executor import LocalExecutor
    from irrobust.core.transformer import Memo
    from irrobust.pipeline.runner import run_tasks

    built: dict[str, Transformer] = {}
    for spec in cfg.systems:  # as build_system does: named, memoised (the tasks reuse the clean runs)
        system = systems[spec.name]
        system.name = spec.name
        built[spec.name] = system if isinstance(system, Memo) else Memo(system)
    fams = {n: (families or {}).get(n) or family_of(s) for n, s in systems.items()}
    source = GivenSystems(ds, built, fams, transfer)
    results, details, ev = run_tasks(cfg, rd, source, progress=progress, executor=LocalExecutor())
    return results, dict(ev.clean_runs.get(ds.id, {})), details


def study(systems: Mapping[str, Transformer] | Sequence[Transformer], data: Dataset | str,
          measures: Sequence[str] | None = None, baseline: str | None = None, test: str = "t",
          correction: str = "holm", alpha: float = 0.05, progress: bool = True, *, shifts: Any = None,
          attacks: Any = None, certify: Any = None, variance: Any = None, transfer: Sequence[Transfer] = (),
          max_queries: int | None = None, seed: int = 42, name: str = "experiment", description: str = "",
          robustness_measure: str | None = None, families: Mapping[str, str] | None = None,
          out: str | Path | None = None, force: bool = False) -> Study:  # fmt: skip
    """Evaluate built ``systems`` on ``data`` with the robustness tasks asked for; return the :class:`Study`.

    Args:
        systems: name → stage (or a list of stages, named by their ``repr``); the first is the baseline unless
            ``baseline`` names another.
        data: a :class:`~irrobust.data.dataset.Dataset` or a dataset ID.
        measures: effectiveness measures (default: nDCG@10, R@100, MAP@100, RR@10).
        shifts: task 2 — a list of shift objects (``ir.shifts.Typos(rate=0.2)``), registered names (``"typos"``)
            or specs (``{"shift": "synonyms", "params": {"rate": 0.3}, "label": "syn30"}``), or a mapping with
            ``items`` (the ``tasks.shifts`` section of a pipeline file).
        attacks: tasks 4–5 — a list of recipe names (``"prada"``), specs (``{"attack": "random", "params":
            {"max_words": 5}}``) or recipe objects, or a mapping of the ``tasks.attacks`` section's keys
            (``items``, ``max_queries``, ``targets``, ``surrogate``, ``similarity``, ...).
        certify: CertDR — ``True`` (defaults) or a mapping of the ``tasks.certify`` section's keys
            (``max_queries``, ``depth``, ``samples``, ``budgets``, ``ks``, ``rules``, ``exact_bm25``, ...).
        variance: task 1 — ``True`` or a mapping of ``tasks.variance`` (``worst_fractions``, ``bootstrap``).
        transfer: task 3 — :class:`Transfer` targets with the systems built on them.
        max_queries: a seeded sample of the queries (quick runs).
        families: ranker family per system name, where :func:`family_of` cannot tell (user rankers).
        out: the run directory (default: a new temporary directory); rerunning the same experiment into it
            reuses its run files and task checkpoints.
        force: replace a run of another configuration in ``out``.

    Example:
        >>> import irrobust as ir
        >>> ds = ir.dataset("cranfield")                                                       # doctest: +SKIP
        >>> bm25, ql = ir.BM25(ir.lucene_index(ds), k=100), ir.QL(ir.lucene_index(ds), k=100)  # doctest: +SKIP
        >>> s = ir.experiment({"bm25": bm25, "ql": ql}, ds, ["nDCG@10"], variance=True,
        ...                   shifts=["typos", "synonyms"])                                    # doctest: +SKIP
        >>> s.shifts()[["system", "condition", "relative_drop"]]                               # doctest: +SKIP
    """
    from irrobust.data.dataset import dataset as load_dataset
    from irrobust.pipeline.provenance import environment_info
    from irrobust.pipeline.rundir import RunDir, now
    from irrobust.util.io import sha256_json

    if not isinstance(systems, Mapping):
        systems = {repr(s): s for s in systems}
    if not systems:
        raise ConfigError("an experiment needs at least one system", where="ir.experiment: systems")
    for n, s in systems.items():
        if not isinstance(s, Transformer):
            raise ConfigError(f"system {n!r} is a {type(s).__name__}, not a stage (wrap a scoring function in "
                              "ir.FunctionRanker)", where=f"ir.experiment: systems[{n!r}]")  # fmt: skip
    ds = load_dataset(data) if isinstance(data, str) else data
    ds.validate()
    transfer = list(transfer)
    for i, t in enumerate(transfer):  # the evaluator runs every system of the configuration on each target
        for label, given in (("transferred", t.transferred), ("in_domain", t.in_domain)):
            if given is not None and set(given) != set(systems):
                raise ConfigError(f"{label} names {sorted(given)}; give the target's version of every system: "
                                  f"{sorted(systems)}", where=f"ir.experiment: transfer[{i}].{label}")  # fmt: skip
    targets = [t.target if isinstance(t.target, str) else t.target.id for t in transfer]
    cfg = study_config(systems, ds.id, measures, name=name, description=description, seed=seed, baseline=baseline,
                       test=test, correction=correction, alpha=alpha, shifts=shifts, attacks=attacks,
                       certify=certify, variance=variance, transfer_targets=targets,
                       robustness_measure=robustness_measure, max_queries=max_queries)  # fmt: skip
    config = cfg.model_dump(mode="json", exclude={"executor"})
    config_hash = sha256_json(config)
    path = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix=f"irrobust-{cfg.name}-"))
    rd = RunDir(path, config_hash, force=force)
    rd.lock()
    try:
        rd.prepare()
        started, t0 = now(), time.perf_counter()
        try:
            results, runs, details = run_study(cfg, ds, systems, rd, families=families, transfer=transfer,
                                               progress=progress)  # fmt: skip
        except IrrobustError as exc:
            rd.fail(f"{type(exc).__name__}: {exc}")
            raise
        except Exception as exc:
            import traceback

            rd.fail(f"{type(exc).__name__}: {exc}", details=traceback.format_exc())
            raise
        rd.finish({"name": cfg.name, "kind": cfg.kind, "config_hash": config_hash, "config": config,
                   "seed": cfg.seed, "started_at": started, "finished_at": now(), "source": "python api",
                   "wall_seconds": round(time.perf_counter() - t0, 2), "environment": environment_info(),
                   **details})  # fmt: skip
    finally:
        rd.unlock()
    return Study(results, cfg, rd.path, runs)


def experiment(systems: Mapping[str, Transformer] | Sequence[Transformer], data: Dataset | str,
               measures: Sequence[str] | None = None, baseline: str | None = None, test: str = "t",
               correction: str = "holm", alpha: float = 0.05, progress: bool = True, **tasks: Any) -> Study:  # fmt: skip
    """``ir.experiment``: evaluate ``systems`` side by side on ``data`` (a :class:`Dataset` or dataset ID), with the
    robustness tasks given as keywords; return one report object (:class:`Study`).

    ``systems`` is a mapping name → stage, or a list of stages (named by their ``repr``, made file-name safe). The
    keywords are those of :func:`study`: ``shifts=[...]``, ``attacks=[...]``, ``certify={...}``, ``variance=True``,
    ``transfer=[...]``, ``max_queries``, ``seed``, ``out``, ... — the task sections of a pipeline file, validated by
    the same code, run by the same task code.

    Example:
        >>> s = experiment({"bm25": bm25, "ql": ql}, "beir/scifact/test", ["nDCG@10"])  # doctest: +SKIP
        >>> s.compare()                                                                # doctest: +SKIP
        >>> s = experiment({"bm25": bm25, "ql": ql}, "beir/scifact/test", ["nDCG@10"], variance=True,
        ...                shifts=["typos"], attacks=["query_stuffing"], certify={"max_queries": 10})  # doctest: +SKIP
        >>> s.most_robust()                                                            # doctest: +SKIP
    """
    from irrobust.util.names import slug

    if not isinstance(systems, Mapping):
        systems = {slug(repr(s)): s for s in systems}
    return study(systems, data, measures, baseline, test, correction, alpha, progress, **tasks)


__all__ = ["PYTHON_RANKER", "Study", "Transfer", "experiment", "family_of", "ranker", "run_study", "study",
           "study_config"]  # fmt: skip
