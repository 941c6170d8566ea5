"""Query shifts by name, so pipeline files can say ``shift: {name: typos, rate: 0.1}``.

Example:
    >>> make_shift("typos", rate=0.1).spec()["rate"]
    0.1
    >>> sorted(SHIFTS)
    ['drop', 'keywordize', 'mixed', 'reorder', 'synonyms', 'typos']
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from irrobust.core.registry import Registry, shared_registry
from irrobust.errors import ConfigError
from irrobust.shifts.base import QueryShift
from irrobust.shifts.mixed import Mixed
from irrobust.shifts.structural import DropWords, Keywordize, Reorder
from irrobust.shifts.synonyms import Synonyms
from irrobust.shifts.typos import Typos

#: every shift a pipeline file may name
SHIFTS: Registry[type[QueryShift]] = shared_registry("shift")
for _cls in (Typos, Synonyms, Reorder, DropWords, Keywordize, Mixed):
    if _cls.kind not in SHIFTS:  # this module may run twice (see irrobust.core.registry.shared_registry)
        SHIFTS.register(_cls.kind, _cls)


def shift_params(name: str) -> dict[str, Any]:
    """The parameters a shift accepts, with their defaults (``inspect.Parameter.empty`` when required).

    Example:
        >>> shift_params("drop")
        {'rate': 0.25, 'seed': 0, 'name': None}
    """
    cls = _lookup(name, None)
    sig = inspect.signature(cls.__init__)
    return {p.name: p.default for p in list(sig.parameters.values())[1:]}


def _lookup(name: str, where: str | None) -> type[QueryShift]:
    return SHIFTS.get(name, where=where)


def make_shift(name: str, /, *, where: str | None = None, **params: Any) -> QueryShift:
    """Build the shift registered under ``name``, validating ``params``.

    Raises:
        ConfigError: unknown shift, unknown or missing parameter, or a bad value (``where`` names the key).

    Example:
        >>> make_shift("reorder", seed=3).seed
        3
        >>> make_shift("drop", rat=0.2)  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ConfigError: drop.rat: unknown parameter 'rat' ...
    """
    cls = _lookup(name, where)
    accepted = shift_params(name)
    base = where or name
    for key in params:
        if key not in accepted:
            raise ConfigError(
                f"unknown parameter {key!r} for shift {name!r}; allowed: {', '.join(accepted)}", where=f"{base}.{key}"
            )
    missing = [k for k, v in accepted.items() if v is inspect.Parameter.empty and k not in params]
    if missing:
        raise ConfigError(f"shift {name!r} needs parameter(s) {', '.join(missing)}", where=base)
    if cls is Mixed:  # a mixed shift's steps may be names or specs: built here, so Mixed itself takes stages only
        params = {**params, "shifts": _mixed_steps(params["shifts"], f"{base}.shifts")}
    try:
        return cls(**params)
    except ConfigError as err:
        raise ConfigError(err.message, where=f"{base}.{err.where}" if err.where else base) from None


def _mixed_steps(steps: Any, where: str) -> list[QueryShift]:
    if isinstance(steps, (str, Mapping)) or not isinstance(steps, Sequence) or not steps:
        raise ConfigError("shifts must be a non-empty list of shifts", where=where)
    built = []
    for i, s in enumerate(steps):
        step = s if isinstance(s, QueryShift) else shift_from_spec(s, where=f"{where}[{i}]")
        if isinstance(step, Mixed):
            raise ConfigError("a mixed shift cannot contain another mixed shift", where=f"{where}[{i}]")
        built.append(step)
    return built


def shift_from_spec(spec: str | Mapping[str, Any], where: str | None = None) -> QueryShift:
    """Build a shift from a name or a mapping ``{"name": ..., **params}`` (as read from YAML).

    Example:
        >>> shift_from_spec({"name": "typos", "rate": 0.5, "seed": 2}).spec()["seed"]
        2
        >>> shift_from_spec("keywordize").name
        'keywordize'
    """
    if isinstance(spec, str):
        return make_shift(spec, where=where)
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise ConfigError(f"a shift is a name or a mapping with a 'name' key, got {spec!r}", where=where)
    params = {k: v for k, v in spec.items() if k != "name"}
    if "label" in params:  # YAML-friendly alias for the shift-column label
        params["name"] = params.pop("label")
    return make_shift(spec["name"], where=where, **params)
