"""Real queries for the shift tests: SciFact test claims and NFCorpus test queries from the staged zips."""

from __future__ import annotations

import json
import zipfile

import pandas as pd
import pytest

from irrobust import paths


def _read_queries(collection: str, split: str) -> pd.DataFrame:
    seed = paths.seed_dir()
    zpath = None if seed is None else seed / collection / f"{collection}.zip"
    if zpath is None or not zpath.is_file():
        pytest.skip(f"staged {collection}.zip not found (set IRROBUST_SEED_DIR)")
    with zipfile.ZipFile(zpath) as z:
        qids = {line.split("\t")[0] for line in z.read(f"{collection}/qrels/{split}.tsv").decode().splitlines()[1:]}
        rows = [json.loads(line) for line in z.read(f"{collection}/queries.jsonl").decode().splitlines() if line]
    return pd.DataFrame([(r["_id"], r["text"]) for r in rows if r["_id"] in qids], columns=["qid", "query"])


@pytest.fixture(scope="session")
def scifact_queries() -> pd.DataFrame:
    """The 300 SciFact test claims (``qid, query``)."""
    return _read_queries("scifact", "test")


@pytest.fixture(scope="session")
def nfcorpus_queries() -> pd.DataFrame:
    """The 323 NFCorpus test queries (``qid, query``)."""
    return _read_queries("nfcorpus", "test")


@pytest.fixture(scope="session")
def all_queries(scifact_queries: pd.DataFrame, nfcorpus_queries: pd.DataFrame) -> pd.DataFrame:
    """SciFact + NFCorpus test queries, qids prefixed to stay unique."""
    return pd.concat(
        [
            scifact_queries.assign(qid="sf-" + scifact_queries["qid"]),
            nfcorpus_queries.assign(qid="nf-" + nfcorpus_queries["qid"]),
        ],
        ignore_index=True,
    )
