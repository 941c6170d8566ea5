"""Query shifts by name, so pipeline files can say ``shift: {name: typos, rate: 0.1}``.

Example:
    >>> make_shift("typos", rate=0.1).spec()["rate"]
    0.1
    >>> sorted(SHIFTS)
    ['drop', 'keywordize', 'mixed', 'reorder', 'synonyms', 'typos']
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from irrobust.errors import ConfigError
from irrobust.shifts.base import QueryShift
from irrobust.shifts.mixed import Mixed
from irrobust.shifts.structural import DropWords, Keywordize, Reorder
from irrobust.shifts.synonyms import Synonyms
from irrobust.shifts.typos import Typos

SHIFTS: dict[str, type[QueryShift]] = {
    "typos": Typos,
    "synonyms": Synonyms,
    "reorder": Reorder,
    "drop": DropWords,
    "keywordize": Keywordize,
    "mixed": Mixed,
}


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
    if not isinstance(name, str) or name not in SHIFTS:
        raise ConfigError(f"unknown shift {name!r}; allowed: {', '.join(sorted(SHIFTS))}", where=where)
    return SHIFTS[name]


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
    try:
        return cls(**params)
    except ConfigError as err:
        raise ConfigError(err.message, where=f"{base}.{err.where}" if err.where else base) from None


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
