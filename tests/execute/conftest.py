"""Fixtures of the executor tests: the outputs of a run directory that must not depend on the executor.

``OUTPUTS`` are compared byte for byte between runs (local vs Ray, before vs after the task protocol); CSV columns
holding compute seconds are dropped, since they measure the machine, not the result.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

#: outputs whose bytes must not depend on the executor (those a run has; run files are added by pattern)
OUTPUTS = ("results.csv", "significance.csv", "attacks.csv", "attacked_documents.csv", "certify/certificates.csv")


def normalised(path: Path) -> bytes:
    """The bytes of an output, with the ``seconds`` columns of a CSV file removed.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "a.csv"; _ = p.write_text("x,seconds\\n1,0.5\\n")
        >>> normalised(p)
        b'x\\n1\\n'
    """
    data = path.read_bytes()
    if path.suffix != ".csv" or not data.strip():
        return data
    df = pd.read_csv(io.StringIO(data.decode()), dtype=str, keep_default_na=False)
    return df[[c for c in df.columns if "seconds" not in c]].to_csv(index=False).encode()


def outputs(run: Path) -> dict[str, bytes]:
    """The executor-independent outputs of a run directory (see :data:`OUTPUTS`), normalised.

    Example:
        >>> outputs(Path("/nonexistent"))
        {}
    """
    found = [n for n in OUTPUTS if (run / n).is_file()]
    found += sorted(p.relative_to(run).as_posix() for p in (run / "runs").rglob("*.trec")) if (run / "runs").is_dir() \
        else []  # fmt: skip
    return {name: normalised(run / name) for name in found}


@pytest.fixture(scope="session")
def run_outputs():
    """:func:`outputs` (the executor-independent outputs of a run directory, normalised)."""
    return outputs


@pytest.fixture(scope="session")
def before():
    """The outputs of the small pipelines made before the task protocol (``tests/execute/before/<name>``; run files
    under ``run_files/``, since ``runs/`` folders are git-ignored)."""

    def read(name: str) -> dict[str, bytes]:
        root = Path(__file__).parent / "before" / name
        return {p.relative_to(root).as_posix().replace("run_files/", "runs/", 1): p.read_bytes()
                for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip

    return read


#: the small pipelines of this directory
PIPELINES = Path(__file__).parent / "pipelines"


@pytest.fixture(scope="session")
def cran_index(seed):
    import irrobust as ir

    return ir.lucene_index(ir.dataset("cranfield"), progress=False)
