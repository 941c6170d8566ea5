"""The one checkpoint store (:mod:`irrobust.core.store`): atomic, written once, JSON only, readable by a resumed run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from irrobust.core.store import UnitStore
from irrobust.core.task import unit_key
from irrobust.errors import DataError


def test_a_result_reads_back_as_stored_and_as_returned(tmp_path):
    store = UnitStore(tmp_path)
    key = unit_key("q1")
    value = {"b": [1, 2.5, None], "a": {"x": float("nan"), "y": 1e-17}, "t": (1, 2)}
    back = store.put(key, value)
    assert back == store.get(key) == UnitStore(tmp_path).get(key)  # a resumed run reads what the driver used
    assert back["t"] == [1, 2] and back["a"]["y"] == 1e-17
    assert list(back) == sorted(back)  # computed now or loaded later: the same key order


def test_a_result_is_written_once(tmp_path):
    store = UnitStore(tmp_path)
    key = unit_key("q1")
    store.put(key, {"v": 1})
    with pytest.raises(DataError, match="written once"):
        store.put(key, {"v": 2})
    assert store.get(key) == {"v": 1}


def test_damaged_or_foreign_records_count_as_absent(tmp_path):
    store = UnitStore(tmp_path)
    k1, k2, k3 = unit_key(1), unit_key(2), unit_key(3)
    store.put(k1, {"v": 1})
    store.path(k1).write_text(store.path(k1).read_text()[:10])  # a half record (not from irrobust: it writes whole)
    store.path(k2).parent.mkdir(parents=True, exist_ok=True)
    store.path(k2).write_text(json.dumps({"key": k3, "result": 1}))  # a record of another unit
    assert store.get(k1) is None and store.get(k2) is None and k1 not in store
    assert store.put(k1, {"v": 1}) == {"v": 1}  # recomputed and written over


def test_only_json_is_stored_and_nothing_is_unpickled(tmp_path):
    import numpy as np

    store = UnitStore(tmp_path)
    with pytest.raises(DataError, match="plain JSON"):
        store.put(unit_key(1), {"v": np.int64(3)})
    with pytest.raises(DataError, match="lower-case hex"):
        store.get("../../etc/passwd")
    assert not list(tmp_path.rglob("*.json"))


KILL = """
import sys
from irrobust.core.store import UnitStore
store = UnitStore(sys.argv[1])
for i in range(3):
    store.put(f"{i:04x}", {"i": i, "pad": "x" * 10000})
"""


@pytest.mark.parametrize("when", ["2:before", "2"])
def test_a_killed_writer_leaves_whole_records_or_none(tmp_path, when):
    env = {**os.environ, "IRROBUST_KILL_AT_WRITE": when}
    proc = subprocess.run([sys.executable, "-c", KILL, str(tmp_path)], env=env, capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    store = UnitStore(tmp_path)
    written = [store.get(f"{i:04x}") for i in range(3)]
    expect = 1 if when.endswith("before") else 2
    assert [w is not None for w in written] == [True] * expect + [False] * (3 - expect)
    assert all(w["pad"] == "x" * 10000 for w in written if w is not None)  # whole, never half
    # the resumed writer completes the store
    subprocess.run([sys.executable, "-c", KILL.replace("range(3)", f"range({expect}, 3)"), str(tmp_path)],
                   check=True, timeout=120)  # fmt: skip
    assert [store.get(f"{i:04x}")["i"] for i in range(3)] == [0, 1, 2]
