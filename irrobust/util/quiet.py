"""Terminal output of a command: calm by default, ``--quiet`` for only the summary, ``--verbose`` for everything.

* default (:func:`calm_output`): irrobust's progress bars (one per long step) and its final summary; library log
  records below ``WARNING`` (ir_datasets' ``[INFO]`` lines), third-party Python warnings (numba, transformers,
  torch) and the Hugging Face progress bars and load reports are hidden;
* ``--verbose``: nothing is hidden (every log record, warning and library progress bar);
* ``--quiet`` (:func:`quiet_output`): only irrobust's own errors, warnings and final summary.

:func:`output_mode` picks one of the three.

``--quiet``: while a command runs, print only irrobust's own errors, warnings and final summary.

Progress output comes from many places: tqdm bars (irrobust's and its libraries'), training loss lines,
library log records and warnings. :func:`quiet_output` silences all of them for the duration of a command
without touching each call site:

* ``sys.stdout`` and ``sys.stderr`` pass on only whole lines that start with ``irrobust: `` (the prefix of
  every error, warning and summary line the CLI prints); anything else written to them (tqdm bars, which
  find ``sys.stderr`` when they are created, loss lines, library warnings) is discarded;
* log records below ``WARNING`` are dropped (``logging.disable(INFO)``); irrobust's warnings
  (``irrobust: warning: ...``) still print;
* child processes started meanwhile inherit ``TQDM_DISABLE=1`` and the Hugging Face switches that turn
  their progress bars off.

Everything is restored on exit, before an exception propagates, so an unexpected traceback is never hidden.

Example:
    >>> import io, sys
    >>> with quiet_output():
    ...     print("step 1/10 loss 0.5")
    ...     print("irrobust: finished x; results in runs/x")
    irrobust: finished x; results in runs/x
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from collections.abc import Iterator

__all__ = ["KEEP_PREFIX", "LineFilter", "calm_output", "output_mode", "quiet_output"]

#: lines that start with this are kept (errors, warnings, the final summary)
KEEP_PREFIX = "irrobust: "
_ENV = {
    "TQDM_DISABLE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}


class LineFilter(io.TextIOBase):
    """A text stream that forwards to ``target`` only the lines starting with ``prefix``.

    Partial lines are held until their newline (a carriage-return progress bar never completes a kept line).

    Example:
        >>> out = io.StringIO()
        >>> f = LineFilter(out)
        >>> _ = f.write("noise\\rmore\\nirrobust: error: x\\n")
        >>> out.getvalue()
        'irrobust: error: x\\n'
    """

    def __init__(self, target: io.TextIOBase | None, prefix: str = KEEP_PREFIX) -> None:
        super().__init__()
        self.target, self.prefix, self._pending, self._overflow = target, prefix, "", False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if self._overflow:  # the rest of a dropped over-long line
                self._overflow = False
            elif line.startswith(self.prefix) and self.target is not None:
                self.target.write(line + "\n")
        if len(self._pending) > 65_536:  # a bar rewriting one line forever: keep memory bounded
            self._pending, self._overflow = "", True
        return len(text)

    def flush(self) -> None:
        if self.target is not None:
            self.target.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        """The target's descriptor (code that needs one, e.g. to hand it to a child process, still works)."""
        if self.target is None:
            raise io.UnsupportedOperation("fileno")
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", None) or "utf-8"


@contextlib.contextmanager
def quiet_output(enabled: bool = True) -> Iterator[None]:
    """Silence progress output while the block runs (see the module docstring); a no-op when not ``enabled``.

    Example:
        >>> with quiet_output(False):
        ...     print("shown")
        shown
    """
    if not enabled:
        yield
        return
    saved_env = {k: os.environ.get(k) for k in _ENV}
    saved_streams = sys.stdout, sys.stderr
    os.environ.update(_ENV)
    logging.disable(logging.INFO)
    out, err = LineFilter(sys.stdout), LineFilter(sys.stderr)
    sys.stdout, sys.stderr = out, err  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved_streams
        logging.disable(logging.NOTSET)
        _restore_env(saved_env)
        for stream in saved_streams:
            with contextlib.suppress(Exception):
                stream.flush()


@contextlib.contextmanager
def calm_output() -> Iterator[None]:
    """The default output: irrobust's progress bars and messages, without library chatter (module docstring).

    Log records below ``WARNING`` are dropped, Python warnings raised outside irrobust are ignored, and the Hugging
    Face libraries are told (through their environment switches, also inherited by child processes) to show
    neither progress bars nor load reports. Everything is restored on exit.

    Example:
        >>> import logging, warnings
        >>> with calm_output():
        ...     logging.getLogger("ir_datasets").info("[INFO] opening the corpus")  # dropped
        ...     warnings.warn_explicit("deprecated", DeprecationWarning, "numba/core.py", 1, module="numba")  # ignored
        ...     print("irrobust: finished")
        irrobust: finished
    """
    import warnings

    saved_env = {k: os.environ.get(k) for k in _ENV if k != "TQDM_DISABLE"}
    os.environ.update({k: v for k, v in _ENV.items() if k != "TQDM_DISABLE"})
    logging.disable(logging.INFO)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.filterwarnings("default", module=r"irrobust(\.|$)")  # irrobust's own warnings still show
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)
            _restore_env(saved_env)


@contextlib.contextmanager
def output_mode(quiet: bool = False, verbose: bool = False) -> Iterator[None]:
    """``--verbose``: show everything; ``--quiet``: :func:`quiet_output`; neither: :func:`calm_output`.

    Example:
        >>> with output_mode(verbose=True):
        ...     print("every line")
        every line
    """
    if verbose:
        yield
    elif quiet:
        with quiet_output():
            yield
    else:
        with calm_output():
            yield


def _restore_env(saved: dict[str, str | None]) -> None:
    """Put back the environment variables a quiet block changed (``None``: the variable was unset)."""
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
