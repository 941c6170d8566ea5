"""Shared fixtures for the recsys tests: small *real* subsets of MovieLens-100K / Last.fm."""

from __future__ import annotations

import warnings

import pytest
import torch

from irrobust import paths
from irrobust.recsys import compat  # noqa: F401  (before recbole)


def _need(rel: str) -> None:
    seed = paths.seed_dir()
    if seed is None or not (seed / rel).is_file():
        pytest.skip(f"staged dataset {rel} not available (set $IRROBUST_SEED_DIR)")


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    torch.set_num_threads(1)  # the CI box has 2 shared cores; sparse ops are faster single-threaded
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"recbole\.")


@pytest.fixture(scope="session")
def ml100k():
    _need("ml-100k/u.data")
    from irrobust.recsys.data import load_interactions

    return load_interactions("ml-100k")


@pytest.fixture(scope="session")
def lastfm():
    _need("lastfm-lightgcn/data1.txt")
    from irrobust.recsys.data import load_interactions

    return load_interactions("lastfm")


@pytest.fixture(scope="session")
def small_split(ml100k):
    """100 real ml-100k users, rho = 0.3, seed 7."""
    from irrobust.recsys.protocol import make_split

    return make_split(ml100k, rho=0.3, seed=7, max_users=100)
