"""Where neural work runs: torch thread counts and the ``device`` setting (``auto | cpu | cuda[:n]``).

Every neural stage and trainer takes ``device``; ``"auto"`` is the first CUDA device when torch sees one, else
the CPU. Asking for CUDA on a machine without it is a configuration error (exit code 2 from the CLI), not a
traceback. On CUDA, ``precision="auto"`` scores under bf16 autocast (fp16 where the GPU has no bf16); on the
CPU it stays exact fp32, so CPU results are unchanged.

Example:
    >>> resolve_device("cpu")
    'cpu'
    >>> resolve_device("auto") in ("cpu", "cuda:0")
    True
"""

from __future__ import annotations

import os
import re
from typing import Annotated

from pydantic import AfterValidator

from irrobust.errors import ConfigError, ModelError

#: the accepted spellings of ``device``
DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def default_threads() -> int:
    """Number of torch threads to use: ``IRROBUST_THREADS`` if set, else the CPUs available to this process.

    Set ``IRROBUST_THREADS=1`` to run several single-threaded jobs side by side without oversubscribing the cores.

    Example:
        >>> default_threads() >= 1
        True
    """
    env = os.environ.get("IRROBUST_THREADS", "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ModelError(f"IRROBUST_THREADS must be a positive integer, got {env!r}", where="environment")
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover (non-Linux)
        return max(1, os.cpu_count() or 1)


def resolve_device(spec: str | None = "auto", where: str = "device") -> str:
    """The torch device string for ``spec``: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``.

    Raises :class:`ConfigError` (naming ``where``) for an unknown spelling, or for CUDA on a machine without it
    or without that device index.

    Example:
        >>> resolve_device("cpu")
        'cpu'
        >>> resolve_device("tpu")
        Traceback (most recent call last):
        irrobust.errors.ConfigError: ...
    """
    spec = "auto" if spec is None else str(spec).strip().lower()
    if not DEVICE_PATTERN.match(spec):
        raise ConfigError(f"unknown device {spec!r}; use auto, cpu, cuda or cuda:N", where=where)
    if spec == "cpu":
        return "cpu"
    import torch

    available = torch.cuda.is_available()
    if spec == "auto":
        return "cuda:0" if available else "cpu"
    if not available:
        raise ConfigError(f"device {spec!r} requested, but torch sees no CUDA device on this machine "
                          "(use device: auto or cpu)", where=where)  # fmt: skip
    index = int(spec.split(":", 1)[1]) if ":" in spec else 0
    if index >= torch.cuda.device_count():
        raise ConfigError(f"device {spec!r} requested, but only {torch.cuda.device_count()} CUDA device(s) exist",
                          where=where)  # fmt: skip
    return f"cuda:{index}"


def cuda_autocast_dtype(device: str):
    """The autocast dtype for mixed precision on a CUDA ``device``: bf16 where supported, else fp16.

    Example:
        >>> cuda_autocast_dtype("cpu") is None
        True
    """
    if not device.startswith("cuda"):
        return None
    import torch

    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def check_device(spec: str) -> str:
    """:func:`resolve_device` as a configuration check: an unknown spelling, or CUDA on a machine without it, is a
    ``ValueError`` when the configuration is read (pydantic turns it into a located error); returns ``spec``.

    Example:
        >>> check_device("cpu")
        'cpu'
        >>> check_device("gpu")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ValueError: ...
    """
    try:
        resolve_device(spec)
    except ConfigError as err:
        raise ValueError(err.message) from None
    return spec


#: a ``device`` setting of a configuration model: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``, checked when read
Device = Annotated[str, AfterValidator(check_device)]
