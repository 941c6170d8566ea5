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
(``systems[1].stages[0].params.k1``) with the allowed values; files are read with
``yaml.safe_load`` semantics (plus duplicate-key detection) and nothing in them is executed.

Example:
    >>> cfg = parse_pipeline({"name": "x", "datasets": ["cranfield"], "systems": [{"name": "bm25",
    ...     "stages": [{"ranker": "bm25"}]}]}, source="<doc>")
    >>> cfg.systems[0].stages[0].ranker, cfg.baseline
    ('bm25', 'bm25')
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from irrobust.errors import ConfigError
from irrobust.evaluate.measures import parse_measure
from irrobust.evaluate.significance import CORRECTIONS, TESTS
from irrobust.pipeline.attack_config import AttacksTask, check_attacks
from irrobust.pipeline.certify_config import CertifyTask, check_certify

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.+>%@=-]*$"


class Strict(BaseModel):
    """Base of config models: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class StageSpec(Strict):
    """One stage: a registered ranker, its parameters, and an optional rank cutoff applied after it."""

    ranker: str = Field(description="registered ranker name (see `irrobust components`)")
    params: dict[str, Any] = Field(default_factory=dict, description="the ranker's parameters")
    cutoff: int | None = Field(None, ge=1, description="keep the top `cutoff` results after this stage (`%`)")


class FuseSpec(Strict):
    """Fusion of other systems of the same pipeline."""

    method: Literal["rrf", "sum"] = "rrf"
    systems: list[str] = Field(min_length=2)
    k: int = Field(60, ge=1, description="RRF constant")
    weights: list[float] | None = Field(None, description="per-system weights for `sum`")

    @model_validator(mode="after")
    def _weights(self) -> FuseSpec:
        if self.weights is not None and len(self.weights) != len(self.systems):
            raise ValueError(f"weights has {len(self.weights)} entries for {len(self.systems)} systems")
        if self.weights is not None and self.method != "sum":
            raise ValueError("weights apply only to method 'sum'")
        return self


class SystemSpec(Strict):
    """A named system: a chain of stages (``a >> b``) or a fusion of other systems."""

    name: str = Field(pattern=NAME_PATTERN, max_length=80)
    stages: list[StageSpec] | None = Field(None, min_length=1)
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

    worst_fractions: list[float] = Field(default_factory=lambda: [0.1, 0.25], description="worst-x% means to report")
    bootstrap: int = Field(10_000, ge=100, description="bootstrap resamples for the CI of the mean")
    alpha: float = Field(0.05, gt=0, lt=1, description="1 - confidence level of the bootstrap CI")

    @field_validator("worst_fractions")
    @classmethod
    def _fractions(cls, v: list[float]) -> list[float]:
        if not v or any(not 0 < f <= 1 for f in v):
            raise ValueError("worst_fractions must be a non-empty list of numbers in (0, 1]")
        return v


class ShiftItem(Strict):
    """One query shift (registered name + parameters); ``label`` names the condition (default: the shift name)."""

    shift: str
    params: dict[str, Any] = Field(default_factory=dict)
    label: str | None = Field(None, pattern=NAME_PATTERN, max_length=60)


class ShiftsTask(Strict):
    """Task 2, out-of-distribution queries: every system on shifted versions of the queries."""

    items: list[ShiftItem] = Field(min_length=1)


class TransferTask(Strict):
    """Task 3, domain transfer: systems (with learned parts trained on the source) evaluated on other datasets."""

    targets: list[str] = Field(min_length=1, description="dataset IDs to transfer to")


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
    description: str = ""
    seed: int = 42
    datasets: list[str] = Field(min_length=1)
    measures: list[str] = Field(default_factory=lambda: ["nDCG@10", "R@100", "MAP@100", "RR@10"], min_length=1)
    baseline: str | None = Field(None, description="system the others are tested against (default: the first)")
    significance: SignificanceSpec = Field(default_factory=SignificanceSpec)
    systems: list[SystemSpec] = Field(min_length=1)
    tasks: Tasks = Field(default_factory=Tasks)
    robustness_measure: str | None = Field(None, description="measure robustness statistics use (default: first)")
    max_queries: int | None = Field(None, ge=1, description="evaluate a seeded sample of this many queries per "
                                    "dataset, transfer targets included (quick runs; default: all)")  # fmt: skip

    @field_validator("measures")
    @classmethod
    def _measures(cls, measures: list[str]) -> list[str]:
        try:
            return [parse_measure(m)[0] for m in measures]
        except ConfigError as exc:
            raise ValueError(exc.message) from None


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
            cfg.robustness_measure = parse_measure(cfg.robustness_measure)[0]
        except ConfigError as exc:
            raise ConfigError(exc.message, where=f"{source}: robustness_measure") from None
        if cfg.robustness_measure not in cfg.measures:
            raise ConfigError(f"{cfg.robustness_measure!r} is not among measures {cfg.measures}",
                              where=f"{source}: robustness_measure")  # fmt: skip
    if cfg.tasks.shifts is None:
        return
    labels: list[str] = []
    for i, item in enumerate(cfg.tasks.shifts.items):
        where = f"{source}: tasks.shifts.items[{i}]"
        make_shift(item.shift, where=f"{where}.params", **{"seed": cfg.seed, **item.params})
        label = item.label or item.shift
        if label in labels or label == "clean":
            raise ConfigError(f"condition label {label!r} is used twice (or is 'clean'); set a distinct 'label'",
                              where=f"{where}.label")  # fmt: skip
        labels.append(label)


def _check_references(cfg: RetrievalPipeline, source: str) -> None:
    """Cross-field checks with exact key paths: unique names, the baseline, fused systems."""
    names = [s.name for s in cfg.systems]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(
                f"system name {name!r} is used twice; names must be unique", where=f"{source}: systems[{i}].name"
            )
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


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that rejects duplicate mapping keys."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r} (line {mark.line + 1})", mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping safely; every failure is a :class:`ConfigError` naming the file (and line).

    Example:
        >>> read_yaml("/nonexistent.yaml")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ConfigError: /nonexistent.yaml: no such file
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError("no such file" if not p.exists() else "not a file", where=str(path))
    try:
        data = yaml.load(p.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason})", where=str(path)) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"malformed YAML{at}: {problem}", where=str(path)) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"the file must hold a mapping of keys, got {type(data).__name__}", where=str(path))
    return data


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
            shown = "" if e["type"] in ("missing",) or isinstance(given, dict) else f" (got {given!r})"
            parts.append(f"{_loc(loc)}: {msg}{shown}")
    first, *rest = parts
    where, _, msg = first.partition(": ")
    text = msg + ("; also " + "; ".join(rest) if rest else "")
    return ConfigError(text, where=f"{source}: {where}")


def _check_components(cfg: RetrievalPipeline, source: str) -> None:
    from irrobust.pipeline import components  # noqa: F401  (registers built-in components)
    from irrobust.pipeline.registry import RANKERS

    for i, system in enumerate(cfg.systems):
        for j, stage in enumerate(system.stages or []):
            where = f"{source}: systems[{i}].stages[{j}]"
            entry = RANKERS.get(stage.ranker)
            if entry is None:
                close = difflib.get_close_matches(stage.ranker, list(RANKERS), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(f"unknown ranker {stage.ranker!r}{hint}; allowed: {', '.join(sorted(RANKERS))}",
                                  where=f"{where}.ranker")  # fmt: skip
            try:
                entry.params.model_validate(stage.params)
            except ValidationError as exc:
                raise format_validation_error(exc, source, entry.params,
                                              ("systems", i, "stages", j, "params")) from None  # fmt: skip


def parse_pipeline(data: dict[str, Any], source: str = "<pipeline>"):
    """Validate a pipeline mapping into a config object (retrieval or recsys).

    Example:
        >>> parse_pipeline({"name": "x"}, "p.yaml")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ConfigError: p.yaml: datasets: Field required; also systems: Field required
    """
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
        check_certify(cfg, source)
    return cfg


def load_pipeline(path: str | Path):
    """Read and validate a pipeline file.

    Example:
        >>> cfg = load_pipeline("pipelines/quickstart.yaml")  # doctest: +SKIP
        >>> cfg.name                                           # doctest: +SKIP
        'quickstart'
    """
    return parse_pipeline(read_yaml(path), source=str(path))
