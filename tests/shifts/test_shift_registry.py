"""The shift registry builds shifts by name and rejects bad parameters with ConfigError."""

from __future__ import annotations

import pytest

from irrobust.errors import ConfigError
from irrobust.shifts import SHIFTS, DropWords, Mixed, Synonyms, Typos, make_shift, shift_from_spec


def test_every_name_builds() -> None:
    assert set(SHIFTS) == {"typos", "synonyms", "reorder", "drop", "keywordize", "mixed"}
    for name in SHIFTS:
        params = {"shifts": ["typos"]} if name == "mixed" else {}
        shift = make_shift(name, **params)
        assert shift.kind == name and shift.name == name


def test_params_are_passed() -> None:
    t = make_shift("typos", rate=0.5, seed=3, ops=["swap"], name="typos@0.5")
    assert isinstance(t, Typos) and (t.rate, t.seed, t.ops, t.name) == (0.5, 3, ("swap",), "typos@0.5")
    assert isinstance(make_shift("drop", rate=0.1), DropWords)
    assert make_shift("synonyms", source="counterfitted").spec() == {
        "type": "Synonyms",
        "name": "synonyms",
        "source": "counterfitted",
        "rate": 0.25,
        "seed": 0,
    }


def test_unknown_param_names_the_key() -> None:
    with pytest.raises(ConfigError, match="'rat'") as err:
        make_shift("drop", rat=0.2)
    assert err.value.where == "drop.rat"
    with pytest.raises(ConfigError) as err:
        make_shift("typos", where="pipelines/x.yaml: shifts[1]", sead=1)
    assert err.value.where == "pipelines/x.yaml: shifts[1].sead"


def test_unknown_shift_lists_the_choices() -> None:
    with pytest.raises(ConfigError, match="allowed: drop, keywordize, mixed, reorder, synonyms, typos"):
        make_shift("typo")


@pytest.mark.parametrize(
    ("name", "params", "key"),
    [
        ("typos", {"rate": 0}, "rate"),
        ("typos", {"rate": 1.5}, "rate"),
        ("typos", {"rate": "lots"}, "rate"),
        ("typos", {"ops": ["smudge"]}, "ops"),
        ("typos", {"min_len": 1}, "min_len"),
        ("drop", {"seed": 1.5}, "seed"),
        ("synonyms", {"source": "thesaurus"}, "source"),
        ("synonyms", {"source": "counterfitted", "max_senses": 2}, "max_senses"),
        ("mixed", {"shifts": []}, "shifts"),
        ("mixed", {"shifts": ["typos"], "k": 2}, "k"),
    ],
)
def test_bad_values_are_config_errors(name: str, params: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        make_shift(name, **params)
    assert err.value.where == f"{name}.{key}"


def test_mixed_requires_shifts_and_reports_nested_errors() -> None:
    with pytest.raises(ConfigError, match="needs parameter"):
        make_shift("mixed")
    with pytest.raises(ConfigError) as err:
        make_shift("mixed", shifts=["typos", {"name": "drop", "rte": 0.1}])
    assert err.value.where == "mixed.shifts[1].rte"
    with pytest.raises(ConfigError, match="another mixed"):
        make_shift("mixed", shifts=[Mixed([Typos()])])
    with pytest.raises(ConfigError, match="another mixed"):
        Mixed([Mixed([Typos()])])
    with pytest.raises(ConfigError, match="must be a shift stage"):
        Mixed(["typos"])


def test_shift_from_spec() -> None:
    s = shift_from_spec({"name": "synonyms", "source": "counterfitted", "rate": 0.5, "label": "syn-cf"})
    assert isinstance(s, Synonyms) and s.name == "syn-cf" and s.rate == 0.5
    assert shift_from_spec("reorder").kind == "reorder"
    with pytest.raises(ConfigError, match="'name' key"):
        shift_from_spec({"rate": 0.5})
