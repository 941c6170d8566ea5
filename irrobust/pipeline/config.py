"""Declarative pipeline files: strict YAML schema → validated config objects.

A retrieval pipeline (``kind: retrieval``, the default)::

    name: quickstart
    seed: 42
    datasets: [beir/scifact/test, beir/nfcorpus/test]
    measures: [nDCG@10, R@100]
    baseline: bm25
    significance: {test: t, correction: holm, alpha: 0.05}
    systems:
      - name: bm25
        stages: [{ranker: bm25, params: {k1: 0.9, b: 0.4}}]
      - name: bm25>>ce
        stages: [{ranker: bm25, cutoff: 100}, {ranker: cross_encoder}]
      - name: fused
        fuse: {method: rrf, systems: [bm25, ql]}

A recommender pipeline (``kind: recsys``) carries a ``recsys:`` section (see :mod:`irrobust.recsys.config`).

Every problem is a :class:`~irrobust.errors.ConfigError` naming the file and the key path
(``systems[1].stages[0].params.k1``) with the allowed values; files are read by the bounded safe reader
:mod:`irrobust.util.safe_yaml` (no aliases, capped size, depth and node count, unique string keys) and
nothing in them is executed.

Bounds (everything the schema accepts runs): numbers are finite (``.inf``/``.nan`` are errors anywhere);
at most :data:`MAX_SYSTEMS` systems, :data:`MAX_STAGES` stages per system, :data:`MAX_DATASETS` datasets
(and transfer targets), :data:`MAX_MEASURES` measures, :data:`MAX_SHIFTS` shift items; measure cutoffs and
ranker depths ``k`` are at most :data:`irrobust.pipeline.registry.MAX_K`; system names (and shift and attack
labels) are unique after the normalisation that builds their file names (:func:`file_key`), so no two
systems share a run file, on case-insensitive file systems too.

Example:
    >>> cfg = parse_pipeline({"name": "x", "datasets": ["cranfield"], "systems": [{"name": "bm25",
    ...     "stages": [{"ranker": "bm25"}]}]}, source="<doc>")
    >>> cfg.systems[0].stages[0].ranker, cfg.baseline
    ('bm25', 'bm25')
"""

from __future__ import annotations

import difflib
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, PrivateAttr, ValidationError, field_validator, model_validator

from irrobust.errors import ConfigError
from irrobust.evaluate.measures import parse_measure
from irrobust.evaluate.significance import CORRECTIONS, TESTS
from irrobust.pipeline.attack_config import AttacksTask, check_attacks
from irrobust.pipeline.certify_config import CertifyTask, check_certify
from irrobust.pipeline.executor_config import ExecutorSpec, check_executor
from irrobust.pipeline.registry import MAX_K, MAX_SEED
from irrobust.util.names import slug
from irrobust.util.safe_yaml import load_yaml_file
from irrobust.util.schema import NAME_PATTERN, Strict, validated

#: most systems in one pipeline
MAX_SYSTEMS = 64
#: most stages in one system
MAX_STAGES = 8
#: most evaluation datasets (and, separately, transfer targets)
MAX_DATASETS = 16
#: most measures
MAX_MEASURES = 32
#: most query-shift items
MAX_SHIFTS = 32
#: longest pipeline description, in characters
MAX_DESCRIPTION = 20_000
#: largest number of bootstrap resamples
MAX_BOOTSTRAP = 100_000
#: largest magnitude of a fusion weight
MAX_WEIGHT = 1000.0
#: a dataset ID as written in a file (checked against the known IDs after the schema)
DatasetId = Annotated[str, Field(max_length=200)]
_MEASURE_NAME = re.compile(r"[A-Za-z]+(@[0-9]{1,9})?")


def canonical_measure(name: str) -> str:
    """The canonical name of a measure given in a pipeline file (surrounding white space stripped), or a
    ``ValueError`` saying what is allowed: letters, an optional ``@cutoff`` with 1 <= cutoff <= ``MAX_K``.

    Example:
        >>> canonical_measure(" ndcg@10\\n")
        'nDCG@10'
    """
    text = name.strip()
    if not _MEASURE_NAME.fullmatch(text):
        raise ValueError(f"unknown measure {name!r}; allowed: nDCG@k, R@k, P@k, MAP@k, AP, RR@k, Hits@k, nDCG "
                         "(letters, then @ and a cutoff, no spaces inside)")  # fmt: skip
    if "@" in text and not 1 <= int(text.partition("@")[2]) <= MAX_K:
        raise ValueError(f"measure cutoff in {name!r} must be in [1, {MAX_K}]")
    try:
        return parse_measure(text)[0]
    except ConfigError as exc:
        raise ValueError(exc.message) from None


def file_key(name: str) -> str:
    """The key two names must not share: the stem of the run file built from the name (:func:`slug`, then the
    part ``Path.with_suffix`` keeps), case-folded for case-insensitive file systems.

    Example:
        >>> file_key("bm25>>x") == file_key("bm25__x"), file_key("BM25") == file_key("bm25")
        (True, True)
        >>> file_key("bm25.v2") == file_key("bm25"), file_key("a%1") == file_key("a_2")
        (True, False)
    """
    return Path(slug(name)).stem.casefold()


class StageSpec(Strict):
    """One stage: a registered ranker, its parameters, and an optional rank cutoff applied after it."""

    ranker: str = Field(max_length=100, description="registered ranker name (see `irrobust components`)")
    params: dict[str, Any] = Field(default_factory=dict, description="the ranker's parameters")
    cutoff: int | None = Field(None, ge=1, le=MAX_K, description="keep the top `cutoff` results after this stage (`%`)")
    _resolved: Any = PrivateAttr(None)

    @property
    def resolved(self) -> Any:
        """The parameters as the ranker's registered params model (defaults filled), set once by validation.

        Example:
            >>> StageSpec(ranker="bm25").resolved  # doctest: +IGNORE_EXCEPTION_DETAIL
            Traceback (most recent call last):
            irrobust.errors.ConfigError: stage 'bm25' was not validated ...
        """
        return validated(self._resolved, f"stage {self.ranker!r}")


class FuseSpec(Strict):
    """Fusion of other systems of the same pipeline."""

    method: Literal["rrf", "sum"] = "rrf"
    systems: list[str] = Field(min_length=2, max_length=MAX_SYSTEMS)
    k: int = Field(60, ge=1, le=1_000_000, description="RRF constant")
    weights: list[float] | None = Field(None, description=f"per-system weights for `sum`, each in [-{MAX_WEIGHT:g}, "
                                        f"{MAX_WEIGHT:g}]")  # fmt: skip

    @model_validator(mode="after")
    def _weights(self) -> FuseSpec:
        if len(set(self.systems)) != len(self.systems):
            raise ValueError(f"systems are fused once each, got {self.systems}")
        if self.weights is not None and any(abs(w) > MAX_WEIGHT for w in self.weights):
            raise ValueError(f"each weight must be in [-{MAX_WEIGHT:g}, {MAX_WEIGHT:g}], got {self.weights}")
        if self.weights is not None and len(self.weights) != len(self.systems):
            raise ValueError(f"weights has {len(self.weights)} entries for {len(self.systems)} systems")
        if self.weights is not None and self.method != "sum":
            raise ValueError("weights apply only to method 'sum'")
        return self


class SystemSpec(Strict):
    """A named system: a chain of stages (``a >> b``) or a fusion of other systems."""

    name: str = Field(pattern=NAME_PATTERN, max_length=80)
    stages: list[StageSpec] | None = Field(None, min_length=1, max_length=MAX_STAGES)
    fuse: FuseSpec | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> SystemSpec:
        if (self.stages is None) == (self.fuse is None):
            raise ValueError("a system needs exactly one of 'stages' or 'fuse'")
        return self


class SignificanceSpec(Strict):
    """Paired significance testing against the baseline."""

    test: Literal[TESTS] = "t"  # type: ignore[valid-type]
    correction: Literal[CORRECTIONS] = "holm"  # type: ignore[valid-type]
    alpha: float = Field(0.05, gt=0, lt=1)


class VarianceTask(Strict):
    """Task 1, performance variance on i.i.d. queries: spread of each system's per-query values."""

    worst_fractions: list[float] = Field(default_factory=lambda: [0.1, 0.25], max_length=16,
                                         description="worst-x% means to report")  # fmt: skip
    bootstrap: int = Field(10_000, ge=100, le=MAX_BOOTSTRAP, description="bootstrap resamples for the CI of the mean")
    alpha: float = Field(0.05, gt=0, lt=1, description="1 - confidence level of the bootstrap CI")

    @field_validator("worst_fractions")
    @classmethod
    def _fractions(cls, v: list[float]) -> list[float]:
        if not v or any(not 0 < f <= 1 for f in v):
            raise ValueError("worst_fractions must be a non-empty list of numbers in (0, 1]")
        return v


class ShiftItem(Strict):
    """One query shift (registered name + parameters); ``label`` names the condition (default: the shift name)."""

    shift: str = Field(max_length=100)
    params: dict[str, Any] = Field(default_factory=dict)
    label: str | None = Field(None, pattern=NAME_PATTERN, max_length=60)
    _built: Any = PrivateAttr(None)

    @property
    def stage(self) -> Any:
        """The shift stage, built once by validation (seed and label filled in).

        Example:
            >>> ShiftItem(shift="typos").stage  # doctest: +IGNORE_EXCEPTION_DETAIL
            Traceback (most recent call last):
            irrobust.errors.ConfigError: shift 'typos' was not validated ...
        """
        return validated(self._built, f"shift {self.shift!r}")


class ShiftsTask(Strict):
    """Task 2, out-of-distribution queries: every system on shifted versions of the queries."""

    items: list[ShiftItem] = Field(min_length=1, max_length=MAX_SHIFTS)


class TransferTask(Strict):
    """Task 3, domain transfer: systems (with learned parts trained on the source) evaluated on other datasets."""

    targets: list[DatasetId] = Field(min_length=1, max_length=MAX_DATASETS, description="dataset IDs to transfer to")


class Tasks(Strict):
    """Robustness tasks run on top of the clean evaluation."""

    variance: VarianceTask | None = None
    shifts: ShiftsTask | None = None
    transfer: TransferTask | None = None
    attacks: AttacksTask | None = None  # tasks 4-5 (irrobust.pipeline.attack_config)
    certify: CertifyTask | None = None  # CertDR certification (irrobust.pipeline.certify_config)


class RetrievalPipeline(Strict):
    """A retrieval experiment: systems × datasets × measures, compared against a baseline."""

    kind: Literal["retrieval"] = "retrieval"
    name: str = Field(pattern=NAME_PATTERN, max_length=80)
    description: str = Field("", max_length=MAX_DESCRIPTION)
    seed: int = Field(42, ge=0, le=MAX_SEED)
    datasets: list[DatasetId] = Field(min_length=1, max_length=MAX_DATASETS)
    measures: list[Annotated[str, Field(max_length=40), AfterValidator(canonical_measure)]] = Field(
        default_factory=lambda: ["nDCG@10", "R@100", "MAP@100", "RR@10"], min_length=1, max_length=MAX_MEASURES
    )
    baseline: str | None = Field(None, description="system the others are tested against (default: the first)")
    significance: SignificanceSpec = Field(default_factory=SignificanceSpec)
    systems: list[SystemSpec] = Field(min_length=1, max_length=MAX_SYSTEMS)
    tasks: Tasks = Field(default_factory=Tasks)
    robustness_measure: str | None = Field(None, max_length=40, description="measure robustness statistics use "
                                           "(default: first)")  # fmt: skip
    max_queries: int | None = Field(None, ge=1, description="evaluate a seeded sample of this many queries per "
                                    "dataset, transfer targets included (quick runs; default: all)")  # fmt: skip
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec, description="who runs the units: `local` (default) "
                                   "or `ray` (not part of the run's identity: outputs are identical)")  # fmt: skip

    @field_validator("measures")
    @classmethod
    def _measures(cls, measures: list[str]) -> list[str]:
        twice = sorted({m for m in measures if measures.count(m) > 1})
        if twice:
            raise ValueError(f"measures {twice} are listed twice")
        return measures


def _check_finite(data: Any, source: str) -> None:
    """Every number in the file is finite (``.inf``, ``-.inf`` and ``.nan`` are errors, wherever they are)."""
    todo: list[tuple[tuple, Any]] = [((), data)]
    while todo:
        loc, value = todo.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"numbers must be finite, got {value!r}", where=f"{source}: {_loc(loc)}")
        if isinstance(value, dict):
            todo.extend(((*loc, k), v) for k, v in value.items())
        elif isinstance(value, list | tuple):
            todo.extend(((*loc, i), v) for i, v in enumerate(value))


def _check_datasets(cfg: RetrievalPipeline, source: str) -> None:
    from irrobust.data.dataset import check_dataset_id
    from irrobust.errors import DataError

    ids = [(f"datasets[{i}]", d) for i, d in enumerate(cfg.datasets)]
    if cfg.tasks.transfer is not None:
        ids += [(f"tasks.transfer.targets[{i}]", d) for i, d in enumerate(cfg.tasks.transfer.targets)]
    for where, ds_id in ids:
        try:
            check_dataset_id(ds_id)
        except DataError as exc:
            raise ConfigError(exc.message, where=f"{source}: {where}") from None


def _check_tasks(cfg: RetrievalPipeline, source: str) -> None:
    from irrobust.shifts.registry import make_shift

    if cfg.robustness_measure is None:
        cfg.robustness_measure = cfg.measures[0]
    else:
        try:
            cfg.robustness_measure = canonical_measure(cfg.robustness_measure)
        except ValueError as exc:
            raise ConfigError(str(exc), where=f"{source}: robustness_measure") from None
        if cfg.robustness_measure not in cfg.measures:
            raise ConfigError(f"{cfg.robustness_measure!r} is not among measures {cfg.measures}",
                              where=f"{source}: robustness_measure")  # fmt: skip
    if cfg.tasks.shifts is None:
        return
    labels: dict[str, str] = {file_key("clean"): "clean"}
    for i, item in enumerate(cfg.tasks.shifts.items):
        where = f"{source}: tasks.shifts.items[{i}]"
        label = item.label or item.shift
        item._built = make_shift(item.shift, where=f"{where}.params", **{"seed": cfg.seed, **item.params, "name": label})
        other = labels.get(file_key(label))
        if other is not None:
            same = ("names the clean condition" if other == "clean" else "is used twice" if other == label
                    else f"and {other!r} name the same query file")  # fmt: skip
            raise ConfigError(f"condition label {label!r} {same}; set a distinct 'label'", where=f"{where}.label")
        labels[file_key(label)] = label


def _check_attack_labels(cfg: RetrievalPipeline, source: str) -> None:
    """Attack labels name folders of the run directory: distinct after :func:`file_key`."""
    seen: dict[str, str] = {}
    for i, item in enumerate(cfg.tasks.attacks.items if cfg.tasks.attacks else []):
        label = item.label or item.attack
        other = seen.setdefault(file_key(label), label)
        if other != label:
            raise ConfigError(f"attack labels {other!r} and {label!r} name the same output folder; set distinct labels",
                              where=f"{source}: tasks.attacks.items[{i}].label")  # fmt: skip


def _check_references(cfg: RetrievalPipeline, source: str) -> None:
    """Cross-field checks with exact key paths: unique names (and run files), the baseline, fused systems."""
    names = [s.name for s in cfg.systems]
    keys: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(
                f"system name {name!r} is used twice; names must be unique", where=f"{source}: systems[{i}].name"
            )
        j = keys.setdefault(file_key(name), i)
        if j != i:
            files = " and ".join(sorted({repr(Path(slug(n)).stem + ".trec") for n in (names[j], name)}))
            raise ConfigError(f"systems {names[j]!r} (systems[{j}]) and {name!r} would write the same run file "
                              f"({files}: characters other than letters, digits and _.=- become '_', a last "
                              "'.suffix' is replaced, and case is ignored on some file systems); rename one",
                              where=f"{source}: systems[{i}].name")  # fmt: skip
    if cfg.baseline is None:
        cfg.baseline = names[0]
    elif cfg.baseline not in names:
        raise ConfigError(f"{cfg.baseline!r} is not a system; systems: {names}", where=f"{source}: baseline")
    for i, s in enumerate(cfg.systems):
        if s.fuse is not None:
            unknown = [x for x in s.fuse.systems if x not in names[:i]]
            if unknown:
                raise ConfigError(f"fuses unknown systems {unknown}; it can fuse systems listed before it: {names[:i]}",
                                  where=f"{source}: systems[{i}].fuse.systems")  # fmt: skip


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping with :func:`irrobust.util.safe_yaml.load_yaml_file`; every failure is a
    :class:`ConfigError` naming the file (and line).

    Example:
        >>> read_yaml("/nonexistent.yaml")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ConfigError: /nonexistent.yaml: no such file
    """
    data = load_yaml_file(path)
    if not isinstance(data, dict):
        raise ConfigError(f"the file must hold a mapping of keys, got {type(data).__name__}", where=str(path))
    return data


def _short(value: Any, limit: int = 120) -> str:
    """``repr(value)``, cut in the middle when longer than ``limit`` characters (so a message stays readable)."""
    if isinstance(value, list | tuple) and len(value) > 20:
        return f"a list of {len(value)} items"
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit // 2]}...{text[-limit // 2 :]} ({len(text)} characters)"


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def _fields_of(model: type[BaseModel], loc: tuple) -> list[str]:
    """Allowed keys at ``loc`` inside ``model`` (walks nested models and lists)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        for arg in (*getattr(ann, "__args__", ()), ann):
            inner = getattr(arg, "__args__", (arg,))
            cand = next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)), None)
            if cand is not None:
                current = cand
                break
        else:
            return []
    return list(getattr(current, "model_fields", {}))


def format_validation_error(
    err: ValidationError, source: str, model: type[BaseModel], prefix: tuple = ()
) -> ConfigError:
    """Turn a pydantic error into one :class:`ConfigError` paragraph naming each key path.

    Example:
        >>> try:
        ...     SignificanceSpec.model_validate({"tset": "t"})
        ... except ValidationError as e:
        ...     print(format_validation_error(e, "p.yaml", SignificanceSpec))
        p.yaml: tset: unknown key 'tset' (did you mean 'test'?); allowed keys: test, correction, alpha
    """
    parts = []
    for e in err.errors():
        loc = prefix + tuple(e["loc"])
        if e["type"] == "extra_forbidden":
            allowed = _fields_of(model, tuple(e["loc"])[:-1])
            key = e["loc"][-1]
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            parts.append(f"{_loc(loc)}: unknown key {key!r}{hint}; allowed keys: {', '.join(allowed)}")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            given = e.get("input")
            shown = "" if e["type"] in ("missing",) or isinstance(given, dict) else f" (got {_short(given)})"
            parts.append(f"{_loc(loc)}: {msg}{shown}")
    first, *rest = parts
    where, _, msg = first.partition(": ")
    text = msg + ("; also " + "; ".join(rest) if rest else "")
    return ConfigError(text, where=f"{source}: {where}")


def _check_components(cfg: RetrievalPipeline, source: str) -> None:
    from irrobust.pipeline.registry import RANKERS

    # a model directory given relative to the pipeline file (irrobust.util.model_ref) is resolved against its folder
    pipeline_dir = Path(source).resolve().parent if Path(source).is_file() else None
    for i, system in enumerate(cfg.systems):
        for j, stage in enumerate(system.stages or []):
            where = f"{source}: systems[{i}].stages[{j}]"
            entry = RANKERS.get(stage.ranker, where=f"{where}.ranker")
            try:
                params = entry.params.model_validate(stage.params, context={"pipeline_dir": pipeline_dir})
            except ValidationError as exc:
                raise format_validation_error(exc, source, entry.params,
                                              ("systems", i, "stages", j, "params")) from None  # fmt: skip
            if isinstance(stage.params.get("model"), str):  # absolute from here on, wherever the run starts
                stage.params["model"] = params.model
            stage._resolved = params  # the typed parameters the runner builds the stage from


def parse_pipeline(data: dict[str, Any], source: str = "<pipeline>"):
    """Validate a pipeline mapping into a config object (retrieval or recsys).

    Example:
        >>> parse_pipeline({"name": "x"}, "p.yaml")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ConfigError: p.yaml: datasets: Field required; also systems: Field required
    """
    _check_finite(data, source)
    kind = data.get("kind", "retrieval")
    if kind == "recsys":
        from irrobust.pipeline.recsys_config import RecsysPipeline

        model: type[BaseModel] = RecsysPipeline
    elif kind == "retrieval":
        model = RetrievalPipeline
    else:
        raise ConfigError(f"unknown kind {kind!r}; allowed: retrieval, recsys", where=f"{source}: kind")
    try:
        cfg = model.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(exc, source, model) from None
    if isinstance(cfg, RetrievalPipeline):
        _check_references(cfg, source)
        _check_components(cfg, source)
        _check_datasets(cfg, source)
        _check_tasks(cfg, source)
        check_attacks(cfg, source)
        _check_attack_labels(cfg, source)
        check_certify(cfg, source)
    check_executor(cfg.executor, source)
    return cfg


def load_pipeline(path: str | Path):
    """Read and validate a pipeline file.

    Example:
        >>> cfg = load_pipeline("pipelines/quickstart.yaml")  # doctest: +SKIP
        >>> cfg.name                                           # doctest: +SKIP
        'quickstart'
    """
    return parse_pipeline(read_yaml(path), source=str(path))
