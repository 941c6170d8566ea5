"""Process-wide settings that must be in place before heavy libraries are imported.

* ``IR_DATASETS_HOME``: ir_datasets reads it at import time; irrobust points it at
  :func:`irrobust.paths.irds_home` unless the user set it.
* Offline flags for Hugging Face libraries (nothing is ever fetched from a model hub).
* ``TOKENIZERS_PARALLELISM=false`` to avoid fork warnings.
* ``MPLCONFIGDIR`` in the workspace, so matplotlib never writes into ``$HOME``.

Example:
    >>> import os, irrobust._bootstrap as b
    >>> b.configure(); "IR_DATASETS_HOME" in os.environ
    True
"""

from __future__ import annotations

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
    if "ir_datasets" in sys.modules:
        # ir_datasets computed its dataset paths at import; they follow the env var it saw then.
        return


configure()
