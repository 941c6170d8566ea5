"""Fixtures for the foundation tests: real collections from the staged copies, indexes in the workspace."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cranfield(seed):
    import irrobust as ir

    return ir.dataset("cranfield")


@pytest.fixture(scope="session")
def cran_index(cranfield):
    import irrobust as ir

    return ir.lucene_index(cranfield, progress=False)


@pytest.fixture()
def isolated_env(tmp_path, seed) -> dict[str, str]:
    """Environment for a child process with its own ir_datasets cache, indexes and a private seed copy."""
    private_seed = tmp_path / "seed"
    for name in ("cranfield", "cacm"):
        shutil.copytree(seed / name, private_seed / name)
        for f in (private_seed / name).iterdir():
            f.chmod(0o644)
    env = {k: v for k, v in os.environ.items() if k not in ("IR_DATASETS_HOME", "IRROBUST_INDEXES")}
    env.update(IRROBUST_SEED_DIR=str(private_seed), IR_DATASETS_HOME=str(tmp_path / "irds"),
               IRROBUST_INDEXES=str(tmp_path / "indexes"), IRROBUST_HOME=str(tmp_path / "home"))  # fmt: skip
    return env
