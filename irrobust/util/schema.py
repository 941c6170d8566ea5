"""The strict base of every configuration model, and the name rule of things a pipeline file names.

Example:
    >>> class Section(Strict):
    ...     k: int = 10
    >>> Section(k=3).k
    3
    >>> Section(kk=3)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    pydantic_core._pydantic_core.ValidationError: ...
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from irrobust.errors import ConfigError

#: names of pipelines, systems, shifts and attacks: letters, digits and ``_.+>%@=-``, starting with a letter or digit
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.+>%@=-]*$"


class Strict(BaseModel):
    """Base of config models: unknown keys are errors, numbers must be finite.

    Example:
        >>> Strict.model_config["extra"]
        'forbid'
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def validated(value: Any, what: str) -> Any:
    """``value``, an object validation built and kept on a config model; a :class:`ConfigError` naming ``what``
    when the model was made without going through validation (``None``).

    Example:
        >>> validated(3, "stage 'bm25'")
        3
        >>> validated(None, "stage 'bm25'")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ConfigError: stage 'bm25' was not validated (use load_pipeline / parse_pipeline)
    """
    if value is None:
        raise ConfigError(f"{what} was not validated (use load_pipeline / parse_pipeline)")
    return value
