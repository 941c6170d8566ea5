"""The shared counter-fitted synonym table loader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from irrobust.data.synonyms import counterfitted_path, counterfitted_synonyms, load_counterfitted
from irrobust.errors import DataError


def test_table_loads_with_the_documented_counts() -> None:
    if counterfitted_path() is None or not counterfitted_path().is_file():
        pytest.skip("staged counter-fitted table not found")
    table = load_counterfitted()
    assert len(table) == 49_975
    assert sum(1 for v in table.values() if v) == 25_591
    assert sum(len(v) for v in table.values()) == 109_104
    assert max(len(v) for v in table.values()) == 8
    assert table["cancer"] == ["tumor", "tumors"]
    assert load_counterfitted() is table, "cached"
    assert counterfitted_synonyms("Cancer") == ["tumor", "tumors"]
    assert counterfitted_synonyms("the") == []


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing") as err:
        load_counterfitted(tmp_path / "nope.json")
    assert str(tmp_path) in str(err.value)


@pytest.mark.parametrize("content", ["[1, 2]", '{"a": "b"}', '{"a": [1]}', "{not json"])
def test_malformed_file_is_a_data_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / f"t{abs(hash(content))}.json"
    path.write_text(content)
    with pytest.raises(DataError):
        load_counterfitted(path)


def test_no_seed_dir_is_a_data_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("irrobust.data.synonyms.paths.seed_dir", lambda: None)
    with pytest.raises(DataError, match="IRROBUST_SEED_DIR"):
        load_counterfitted()


def test_self_neighbours_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"risk": ["risk", "hazard"], "x": []}))
    assert load_counterfitted(path) == {"risk": ["hazard"], "x": []}
