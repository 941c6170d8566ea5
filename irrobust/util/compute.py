"""Where neural work runs: torch thread counts and the ``device`` setting (``auto | cpu | cuda[:n]``).

Every neural stage and trainer takes ``device``; ``"auto"`` is the first CUDA device when torch sees one, else
the CPU. Asking for CUDA on a machine without it is a configuration error (exit code 2 from the CLI), not a
traceback. On CUDA, ``precision="auto"`` scores under bf16 autocast (fp16 where the GPU has no bf16); on the
CPU it stays exact fp32, so CPU results are unchanged. Trainers likewise (:func:`training_precision`): bf16 autocast
on GPUs with native bf16, fp16 autocast with a gradient scaler on older ones, fp32 on the CPU.

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


def cuda_supports_bf16(device: str) -> bool:
    """True when the CUDA ``device`` computes in bf16 natively (compute capability 8.0 or later: Ampere, Hopper...);
    torch's ``is_bf16_supported()`` also says yes where bf16 is only emulated (slowly), e.g. on a T4 or V100.

    Example:
        >>> cuda_supports_bf16("cuda:0")   # doctest: +SKIP
        True
    """
    import torch

    if getattr(torch.version, "hip", None):  # ROCm: torch knows which AMD GPUs have bf16
        return bool(torch.cuda.is_bf16_supported())
    return torch.cuda.get_device_capability(torch.device(device))[0] >= 8


def cuda_autocast_dtype(device: str):
    """The autocast dtype for mixed precision on a CUDA ``device``: bf16 where native, else fp16.

    Example:
        >>> cuda_autocast_dtype("cpu") is None
        True
    """
    if not device.startswith("cuda"):
        return None
    import torch

    return torch.bfloat16 if cuda_supports_bf16(device) else torch.float16


#: the ``precision`` settings of a trainer: ``auto`` (mixed precision on CUDA, fp32 on the CPU) or one mode
TRAINING_PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def training_precision(device: str, requested: str = "auto", bf16_supported: bool | None = None,
                       mixed_ok: bool = True) -> str:  # fmt: skip
    """The precision a network trains in on the resolved ``device``: ``"fp32"``, ``"bf16"`` or ``"fp16"``.

    ``"auto"`` is mixed precision on CUDA (bf16 autocast where the GPU has native bf16, :func:`cuda_supports_bf16`,
    else fp16 autocast with a gradient scaler) and exact fp32 on the CPU: no autocast there (bf16 is emulated, and slow, on CPUs without native
    bf16, and CPU weights stay bit-identical to fp32 training). ``bf16_supported`` is what the GPU can do (``None``:
    ask torch, only for a CUDA device); ``mixed_ok=False`` (a network that needs fp32, e.g. KNRM's exact-match kernel)
    makes ``"auto"`` fp32 everywhere. A mixed mode on the CPU, bf16 on a GPU without it, or mixed precision for a
    network that needs fp32 is a :class:`ConfigError`.

    Example:
        >>> training_precision("cpu")
        'fp32'
        >>> training_precision("cuda:0", bf16_supported=True), training_precision("cuda:0", bf16_supported=False)
        ('bf16', 'fp16')
        >>> training_precision("cuda:1", bf16_supported=True, mixed_ok=False)
        'fp32'
    """
    if requested not in TRAINING_PRECISIONS:
        raise ConfigError(f"unknown training precision {requested!r}; use one of {list(TRAINING_PRECISIONS)}",
                          where="training.precision")  # fmt: skip
    if requested == "fp32":
        return "fp32"
    cuda = device.startswith("cuda")
    if requested == "auto" and (not cuda or not mixed_ok):
        return "fp32"
    if not cuda:
        raise ConfigError(f"mixed-precision training ({requested}) runs on CUDA only; use precision auto or fp32 on "
                          f"{device!r}", where="training.precision")  # fmt: skip
    if not mixed_ok:
        raise ConfigError(f"this network trains in fp32 only (precision {requested!r} asked for)",
                          where="training.precision")  # fmt: skip
    if bf16_supported is None:
        bf16_supported = cuda_supports_bf16(device)
    if requested == "auto":
        return "bf16" if bf16_supported else "fp16"
    if requested == "bf16" and not bf16_supported:
        raise ConfigError(f"precision bf16 asked for, but {device} has no bf16 support (use fp16 or auto)",
                          where="training.precision")  # fmt: skip
    return requested


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
