"""Process-wide settings that must be in place before heavy libraries are imported.

* ``IR_DATASETS_HOME``: ir_datasets reads it at import time; irrobust points it at
  :func:`irrobust.paths.irds_home` unless the user set it.
* Offline flags for Hugging Face libraries (nothing is ever fetched from a model hub).
* ``TOKENIZERS_PARALLELISM=false`` to avoid fork warnings.
* ``MPLCONFIGDIR`` in the workspace, so matplotlib never writes into ``$HOME``.
* irrobust's Java helper folder on the JVM's classpath (:mod:`irrobust.index.lucene_direct`).
* The JVM's fatal-error log (``hs_err_pid*.log``, written when a run is killed while Lucene works)
  goes to ``<home>/.cache/jvm`` instead of the current directory.

Example:
    >>> import os, irrobust._bootstrap as b
    >>> b.configure(); "IR_DATASETS_HOME" in os.environ
    True
"""

from __future__ import annotations

import contextlib
import os
import sys

from irrobust import paths


def configure() -> None:
    """Set the environment defaults above (idempotent; user settings win).

    Example:
        >>> configure()
    """
    os.environ.setdefault("IR_DATASETS_HOME", str(paths.irds_home()))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TQDM_MININTERVAL", "1")
    # matplotlib's font cache goes to the workspace, not to $HOME
    os.environ.setdefault("MPLCONFIGDIR", str(paths.home() / ".cache" / "matplotlib"))
    _jvm_options()
    if "ir_datasets" in sys.modules:
        # ir_datasets computed its dataset paths at import; they follow the env var it saw then.
        return


def _jvm_options() -> None:
    if "jnius" in sys.modules:  # the JVM is already up: options can no longer change
        return
    try:
        import jnius_config
    except ImportError:  # pragma: no cover - pyserini not installed
        return
    folder = paths.home() / ".cache" / "jvm"
    with contextlib.suppress(OSError):  # the JVM falls back to the current directory if it cannot write here
        folder.mkdir(parents=True, exist_ok=True)
    option = f"-XX:ErrorFile={folder / 'hs_err_pid%p.log'}"
    if option not in jnius_config.get_options():
        with contextlib.suppress(ValueError):  # the VM was started by someone else
            jnius_config.add_options(option)
    # the folder of irrobust's Java helper (compiled into it on first use; see irrobust.index.lucene_direct)
    helper = str(paths.java_helper_dir())
    if helper not in (jnius_config.classpath or ()):  # (get_classpath() would start the JVM)
        with contextlib.suppress(ValueError):
            jnius_config.add_classpath(helper)


configure()
