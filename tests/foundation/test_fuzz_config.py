"""Fuzzing corpus of pipeline files (issue 17): hostile files and property-based mutations of ``pipelines/``.

Every case either validates or raises a located :class:`~irrobust.errors.ConfigError` (the file or source
and a key path or line in the message) — never another exception, never more than a few seconds, never
more than a few hundred MB. Accepted configurations keep the invariants the runner relies on: finite
numbers, depths within ``MAX_K``, system names with distinct run files.

* ``test_hostile_file_*``: a fixed set of hostile files, one per category the issue lists (billion laughs,
  a big string aliased many times, deep nesting, list/map keys, over-long paths, non-finite or out-of-range
  numbers, thousands of systems or measures, colliding names, measure names with a newline, path-like
  model and training-set names, bad encodings, devices and FIFOs).
* ``test_mutated_pipelines_*``: hypothesis mutations of the shipped pipelines, at the level of the parsed
  mapping (values, keys, sizes, name collisions) and of the file's bytes (YAML syntax, anchors, tags,
  control bytes), validated in-process: at least :data:`MIN_IN_PROCESS` cases in the default suite.
* ``test_cli_corpus`` (slow): the hostile files and :data:`CLI_CASES` generated files through the real
  ``irrobust validate`` (exit 0 or 2, no traceback), and a few accepted cheap ones through ``irrobust run``
  (exit 0 or 2, no traceback, nothing written outside ``--out``).

Run: ``IRROBUST_THREADS=1 .venv/bin/python -m pytest tests/foundation/test_fuzz_config.py -q`` (default
suite), ``... -m slow -k cli_corpus`` (the CLI part).
"""

from __future__ import annotations

import copy
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from irrobust.errors import ConfigError
from irrobust.pipeline.config import file_key, load_pipeline, parse_pipeline
from irrobust.pipeline.registry import MAX_K
from irrobust.util.safe_yaml import MAX_BYTES, load_yaml_file

REPO = Path(__file__).resolve().parents[2]
PIPELINES = sorted((REPO / "pipelines").glob("*.yaml"))
#: generated cases validated in-process by the default suite (both property tests together)
MIN_IN_PROCESS = 1000
#: generated files sent through the real CLI by the slow test (plus every hostile file)
CLI_CASES = 100
#: CPU seconds one in-process validation may take (typical cases take milliseconds; CPU time, not wall-clock time,
#: so a loaded machine does not fail the test; 3 s, not 1 s: in a fresh clone a mutation that reaches a module not
#: imported yet pays its first import and bytecode compilation, measured at 1.5 s), and the wall-clock seconds that
#: count as a hang
CASE_SECONDS = 3.0
HANG_SECONDS = 15.0
#: growth of the process's peak resident memory allowed over a whole property run
PEAK_MB = 300

TINY = """\
name: fuzz-tiny
seed: 3
datasets: [cranfield]
measures: [nDCG@10, R@100]
max_queries: 5
systems:
  - name: bm25
    stages: [{ranker: bm25, params: {k: 50, k1: 1.2, b: 0.75}}]
  - name: ql
    stages: [{ranker: ql, params: {k: 50, mu: 500}}]
  - name: fused
    fuse: {method: sum, systems: [bm25, ql], weights: [0.5, 0.5]}
"""

# -- the generator -------------------------------------------------------------------------------------------

HOSTILE_VALUES: list[Any] = [
    float("inf"), float("-inf"), float("nan"), 0, -1, 1, 2, 2**31 - 1, 2**31, 2**63, 10**30, 1e308, -1e308, 0.5,
    1e-320, "", " ", "x" * 300, "nDCG@10\n", " R@100 ", "nDCG@0", "nDCG@99999999999", "../../etc/x", "../../x",
    "a/b", "..", ".hidden", "BM25", "bm25>>x", "bm25__x", "a%1", "a_1", "x@y", "x_y", None, True, False, [], {},
    [None], [[]], {"": 1}, {"k": {"k": {}}}, "bm25", "ql", "rm3", "cranfield", "beir/scifact/train", "\x00",
    "é\u202e", "1e400", ".inf", "yes", "2020-13-45", [1.5, "x"], ["bm25", "bm25"],
]  # fmt: skip
TEXT_TOKENS: list[bytes] = [
    b"&a ", b"*a", b"[", b"]", b"{", b"}", b": ", b"- ", b"\t", b"\x00", b"!!python/object/apply:os.system ['id'] ",
    b"<<: {a: 1}", b"? [a, b]\n: c\n", b"---\n", b"'", b'"', b"\\", b"\n  ", b"%YAML 1.1\n", b"\xef\xbb\xbf",
    b"\xff\xfe", b"9" * 5000, b"[" * 2000, b"{a: " * 200, b"!!binary x", b"!!set {a}", b".nan", b"-.inf", b"\r",
    b"#", b"|\n", b">-\n", b"\x85", b"\xe2\x80\xa8",
]  # fmt: skip
OPS = ("set", "set", "set", "delete", "add_key", "dup_item", "collide", "grow", "retype_key")


class _Chooser:
    """Choices for the mutators: from hypothesis ``draw`` (property tests) or a seeded ``random.Random`` (CLI)."""

    def __init__(self, draw: Any = None, rng: random.Random | None = None) -> None:
        self.draw, self.rng = draw, rng

    def choice(self, seq: list[Any]) -> Any:
        return self.draw(st.sampled_from(seq)) if self.draw else self.rng.choice(seq)  # type: ignore[union-attr]

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi)) if self.draw else self.rng.randint(lo, hi)  # type: ignore[union-attr]

    def value(self) -> Any:
        # a copy: a later mutation must not edit the shared HOSTILE_VALUES (the same draws would then build other
        # documents, which hypothesis reports as a flaky strategy)
        if self.draw:
            return copy.deepcopy(self.draw(st.one_of(st.sampled_from(HOSTILE_VALUES), st.integers(), st.floats(),
                                                     st.text(max_size=20))))  # fmt: skip
        rng = self.rng
        assert rng is not None
        kind = rng.randrange(4)
        if kind == 0:
            return rng.randint(-(2**70), 2**70)
        if kind == 1:
            return rng.choice([rng.uniform(-1e6, 1e6), rng.random(), float(rng.randint(-5, 5))])
        return copy.deepcopy(rng.choice(HOSTILE_VALUES))


def _containers(doc: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    out = [(path, doc)] if isinstance(doc, dict | list) else []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        out += _containers(value, (*path, key))
    return out


def mutate(doc: dict, pick: _Chooser, rounds: int) -> dict:
    """Apply ``rounds`` random mutations to a parsed pipeline (in place) and return it."""
    for _ in range(rounds):
        op = pick.choice(list(OPS))
        _, c = pick.choice(_containers(doc))
        if op == "collide":
            systems = doc.get("systems")
            if isinstance(systems, list) and len(systems) >= 2 and all(isinstance(s, dict) for s in systems[:2]):
                first = str(systems[0].get("name", "bm25"))
                variant = pick.choice([first.upper(), first.replace(">", "_"), first + ".v2", first.swapcase(),
                                       first.replace("_", "%"), first.replace("_", "@"), first])  # fmt: skip
                systems[1]["name"] = variant
            continue
        if op == "grow" and isinstance(c, list) and c:
            c.extend(copy.deepcopy(c[: 1 + pick.integer(0, len(c) - 1)]) * pick.integer(2, 12_000 // len(c) + 2))
            continue
        if isinstance(c, dict):
            keys = sorted(c, key=str)
            if op == "delete" and keys:
                del c[pick.choice(keys)]
            elif op == "add_key" or not keys:
                c[pick.choice(["sead", "k3", "params", "label", "weights", "name", "tasks", "x" * 50])] = pick.value()
            elif op == "retype_key" and keys:
                key = pick.choice(keys)
                c[pick.choice([1, None, True, 2.5, key.upper() if isinstance(key, str) else key])] = c.pop(key)
            else:
                c[pick.choice(keys)] = pick.value()
        else:  # a list
            if op == "delete" and c:
                del c[pick.integer(0, len(c) - 1)]
            elif op == "dup_item" and c:
                c.append(copy.deepcopy(c[pick.integer(0, len(c) - 1)]))
            elif c:
                c[pick.integer(0, len(c) - 1)] = pick.value()
            else:
                c.append(pick.value())
    return doc


def mutate_bytes(text: bytes, pick: _Chooser, rounds: int) -> bytes:
    """Apply ``rounds`` byte-level edits (insert a hostile token, delete a span, repeat a line) to a file."""
    for _ in range(rounds):
        op = pick.choice(["insert", "insert", "delete", "repeat"])
        pos = pick.integer(0, len(text))
        if op == "insert":
            text = text[:pos] + pick.choice(TEXT_TOKENS) + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + pick.integer(1, 40) :]
        else:
            lines = text.split(b"\n")
            i = pick.integer(0, len(lines) - 1)
            text = b"\n".join(lines[: i + 1] + [lines[i]] * pick.integer(1, 3) + lines[i + 1 :])
    return text


def _bases() -> dict[str, dict]:
    bases = {p.name: load_yaml_file(p) for p in PIPELINES}
    bases["tiny"] = yaml.safe_load(TINY)
    return bases


BASES = _bases()
TEXTS = {**{p.name: p.read_bytes() for p in PIPELINES}, "tiny": TINY.encode()}


def dump(doc: Any) -> bytes:
    """The mutated mapping as a YAML file (``.inf``/``.nan`` and non-string keys survive the round trip)."""
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=10_000).encode("utf-8", "surrogatepass")


# -- checks ----------------------------------------------------------------------------------------------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Clock:
    """CPU and wall-clock seconds of a block; :meth:`check` asserts both bounds."""

    def __enter__(self) -> _Clock:
        self.cpu, self.wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cpu, self.wall = time.process_time() - self.cpu, time.perf_counter() - self.wall

    def check(self, what: str) -> None:
        assert self.cpu < CASE_SECONDS, f"{what}: {self.cpu:.2f} CPU seconds"
        assert self.wall < HANG_SECONDS, f"{what}: {self.wall:.1f} s"


def check_case(fn: Any, where: str) -> str:
    """Run one validation: ``"ok"`` (then check the invariants) or ``"error"`` (a located ConfigError)."""
    with _Clock() as clock:
        try:
            cfg = fn()
        except ConfigError as exc:
            error = exc
        else:
            error = None
    clock.check(where)
    if error is not None:
        assert error.where and str(error).startswith(where), f"not located: {error}"
        return "error"
    check_accepted(cfg)
    return "ok"


def check_accepted(cfg: Any) -> None:
    """What the runner relies on in an accepted retrieval config."""
    if cfg.kind != "retrieval":
        return
    keys = [file_key(s.name) for s in cfg.systems]
    assert len(set(keys)) == len(keys), [s.name for s in cfg.systems]
    dumped = json.dumps(cfg.model_dump(mode="json"), allow_nan=False)  # raises on a non-finite number
    assert len(dumped) < MAX_BYTES * 20
    from irrobust.pipeline.registry import RANKERS

    for s in cfg.systems:
        assert "\n" not in s.name
        for stage in s.stages or []:
            assert getattr(RANKERS[stage.ranker].params.model_validate(stage.params), "k", 1) <= MAX_K


COUNTS: Counter = Counter()
_SETTINGS = dict(derandomize=True, database=None, deadline=None, print_blob=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])  # fmt: skip


@st.composite
def mutated_docs(draw: Any) -> tuple[str, dict]:
    name = draw(st.sampled_from(sorted(BASES)))
    pick = _Chooser(draw=draw)
    return name, mutate(copy.deepcopy(BASES[name]), pick, draw(st.integers(1, 4)))


@st.composite
def mutated_texts(draw: Any) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(TEXTS)))
    pick = _Chooser(draw=draw)
    if draw(st.booleans()):  # mutate the mapping, then the bytes of its YAML
        base = dump(mutate(copy.deepcopy(BASES[name]), pick, draw(st.integers(0, 2))))
    else:
        base = TEXTS[name]
    return name, mutate_bytes(base, pick, draw(st.integers(1, 3)))


@settings(max_examples=600, **_SETTINGS)
@given(mutated_docs())
def test_mutated_pipelines_validate_or_give_a_located_error(case):
    name, doc = case
    COUNTS["mapping:" + check_case(lambda: parse_pipeline(doc, source=f"<{name}>"), f"<{name}>")] += 1


@settings(max_examples=450, **_SETTINGS)
@given(mutated_texts())
def test_mutated_pipeline_files_validate_or_give_a_located_error(tmp_path_factory, case):
    name, data = case
    path = tmp_path_factory.getbasetemp() / "fuzz" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    COUNTS["file:" + check_case(lambda: load_pipeline(path), str(path))] += 1


@pytest.fixture(scope="module", autouse=True)
def _bounded_memory_and_counts():
    for p in PIPELINES:  # import what validation imports before the high-water mark is taken
        load_pipeline(p)
    before = _peak_mb()
    yield
    grown = _peak_mb() - before
    print(f"\nfuzz corpus: {dict(sorted(COUNTS.items()))}; peak RSS grew {grown:.0f} MB")
    assert grown < PEAK_MB, f"peak resident memory grew by {grown:.0f} MB"


def test_the_property_runs_covered_enough_cases():
    """Runs after both property tests (file order): at least MIN_IN_PROCESS cases, both outcomes seen."""
    mapping = COUNTS["mapping:ok"] + COUNTS["mapping:error"]
    files = COUNTS["file:ok"] + COUNTS["file:error"]
    if not mapping or not files:
        pytest.skip("run together with the property tests (the whole file)")
    assert mapping + files >= MIN_IN_PROCESS, COUNTS
    assert COUNTS["mapping:ok"] and COUNTS["mapping:error"] and COUNTS["file:ok"] and COUNTS["file:error"], COUNTS


# -- the fixed hostile corpus ------------------------------------------------------------------------------------


def _laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\nname: laughs\ndatasets: [cranfield]\nsystems: *i\n"


def _systems(names: list[str]) -> str:
    body = "".join(f"  - name: {json.dumps(n)}\n    stages: [{{ranker: bm25}}]\n" for n in names)
    return f"name: x\ndatasets: [cranfield]\nsystems:\n{body}"


def _with(params: str, ranker: str = "bm25", extra: str = "") -> str:
    return (f"name: x\ndatasets: [cranfield]\nsystems:\n  - name: s\n    stages: [{{ranker: {ranker}, params: "
            f"{params}}}]\n{extra}")  # fmt: skip


_BIG = "x" * 1_000_000
HOSTILE: dict[str, bytes] = {
    "billion_laughs": _laughs().encode(),
    "big_string_aliased_10000_times": (f"s: &s {_BIG}\nl: [" + ",".join(["*s"] * 10_000) + "]\n").encode(),
    "small_string_aliased_10000_times": (
        "s: &s " + "y" * 20_000 + "\nl: [" + ",".join(["*s"] * 10_000) + "]\n"
    ).encode(),  # fmt: skip
    "flow_lists_100000_deep": b"name: x\nsystems: " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "flow_lists_1000_deep": b"name: x\nsystems: " + b"[" * 1000 + b"]" * 1000 + b"\n",
    "flow_maps_50000_deep": b"name: x\nsystems: " + b"{a: " * 50_000 + b"1" + b"}" * 50_000 + b"\n",
    "block_maps_200_deep": "".join(" " * i + "a:\n" for i in range(200)).encode(),
    "list_key": b"name: x\n? [a, b]\n: 1\n",
    "map_key": b"name: x\n{a: 1}: 2\n",
    "int_key": b"name: x\n1: 2\n",
    "bool_key": b"name: x\non: 2\n",
    "null_key": b"name: x\n~: 2\n",
    "merge_key": b"base: {k: 1}\nname: x\n<<: {datasets: [cranfield]}\n",
    "python_tag": b"name: !!python/object/apply:os.system ['echo pwned']\n",
    "int_of_5000_digits": b"name: x\nseed: 1" + b"0" * 5000 + b"\n",
    "bad_timestamp": b"name: x\nseed: 2020-13-45\n",
    "two_documents": b"name: x\n---\nname: y\n",
    "nul_byte": b"name: x\x00\n",
    "latin1": "name: caf\xe9\n".encode("latin-1"),
    "utf16": "name: x\n".encode("utf-16"),
    "binary_garbage": bytes(range(256)) * 4,
    "empty": b"",
    "only_comments": b"# nothing\n",
    "top_level_list": b"- a\n- b\n",
    "top_level_scalar": b"hello\n",
    "too_big": b"name: x\ndescription: " + b"d" * (MAX_BYTES + 10) + b"\n",
    "k1_inf": _with("{k1: .inf}").encode(),
    "mu_inf": _with("{mu: .inf}", "ql").encode(),
    "b_nan": _with("{b: .nan}").encode(),
    "k_2_31": _with("{k: 2147483648}").encode(),
    "k_zero": _with("{k: 0}").encode(),
    "k1_1e308": _with("{k1: 1e308}").encode(),
    "cutoff_huge": b"name: x\ndatasets: [cranfield]\nsystems:\n  - {name: s, stages: [{ranker: bm25, cutoff: "
    b"99999999999}]}\n",
    "fusion_weights_inf": (
        _systems(["a", "b"]) + "  - {name: f, fuse: {method: sum, systems: [a, b], weights: [.inf, -.inf]}}\n"
    ).encode(),  # fmt: skip
    "fusion_weights_nan": (
        _systems(["a", "b"]) + "  - {name: f, fuse: {method: sum, systems: [a, b], weights: [.nan, 1]}}\n"
    ).encode(),  # fmt: skip
    "fusion_weights_1e308": (
        _systems(["a", "b"]) + "  - {name: f, fuse: {method: sum, systems: [a, b], weights: [1e308, 1e308]}}\n"
    ).encode(),  # fmt: skip
    "systems_5000": _systems([f"s{i}" for i in range(5000)]).encode(),
    "systems_100": _systems([f"s{i}" for i in range(100)]).encode(),
    "measures_20000": (
        "name: x\ndatasets: [cranfield]\nmeasures: ["
        + ", ".join(["nDCG@10"] * 20_000)
        + "]\n"
        + _systems(["s"]).split("\n", 2)[2]
    ).encode(),  # fmt: skip
    "measures_40_distinct": (
        "name: x\ndatasets: [cranfield]\nmeasures: ["
        + ", ".join(f"nDCG@{i}" for i in range(1, 41))
        + "]\n"
        + _systems(["s"]).split("\n", 2)[2]
    ).encode(),  # fmt: skip
    "measure_cutoff_overflow": b"name: x\ndatasets: [cranfield]\nmeasures: ['nDCG@99999999999999999999']\n"
    b"systems: [{name: s, stages: [{ranker: bm25}]}]\n",
    "collide_slug_gt": _systems(["bm25>>x", "bm25__x"]).encode(),
    "collide_percent": _systems(["a%1", "a_1"]).encode(),
    "collide_at": _systems(["x@y", "x_y"]).encode(),
    "collide_case": _systems(["BM25", "bm25"]).encode(),
    "collide_suffix": _systems(["bm25", "bm25.v2"]).encode(),
    "collide_shift_labels": (
        _systems(["s"]) + "tasks:\n  shifts:\n    items:\n      - {shift: typos, label: T1}\n"
        "      - {shift: typos, label: t1}\n"
    ).encode(),  # fmt: skip
    "shift_label_clean": (
        _systems(["s"]) + "tasks:\n  shifts:\n    items:\n      - {shift: typos, label: Clean}\n"
    ).encode(),  # fmt: skip
    "shifts_100": (
        _systems(["s"])
        + "tasks:\n  shifts:\n    items:\n"
        + "".join(f"      - {{shift: typos, label: t{i}}}\n" for i in range(100))
    ).encode(),  # fmt: skip
    "attacks_100": (
        _systems(["s"])
        + "tasks:\n  attacks:\n    items:\n"
        + "".join(f"      - {{attack: random, label: a{i}}}\n" for i in range(100))
    ).encode(),  # fmt: skip
    "system_name_newline": _systems(["bm25\n"]).encode(),
    "train_on_dotdot": (
        _systems(["b"]) + "  - {name: l, stages: [{ranker: bm25}, {ranker: ltr, params: {train_on: ../../etc/x}}]}\n"
    ).encode(),  # fmt: skip
    "model_dotdot": (
        _systems(["b"]) + "  - {name: k, stages: [{ranker: bm25}, {ranker: knrm, params: {model: ../../x}}]}\n"
    ).encode(),  # fmt: skip
    # `org/name` is a hub id since models can be brought in (docs/rankers_neural.md); a deeper path is a directory,
    # and a missing one is an error
    "model_slash": (
        _systems(["b"]) + "  - {name: k, stages: [{ranker: bm25}, {ranker: cross_encoder, params: {model: a/b/c}}]}\n"
    ).encode(),  # fmt: skip
    "seed_negative": (_systems(["s"]) + "seed: -1\n").encode(),
    "seed_2_64": (_systems(["s"]) + "seed: 18446744073709551616\n").encode(),
    "bootstrap_huge": (_systems(["s"]) + "tasks: {variance: {bootstrap: 1000000000000}}\n").encode(),
    "description_huge": (_systems(["s"]) + "description: " + "d" * 200_000 + "\n").encode(),
    "dataset_id_huge": (
        "name: x\ndatasets: [" + "d" * 100_000 + "]\nsystems: [{name: s, stages: [{ranker: bm25}]}]\n"
    ).encode(),  # fmt: skip
}
#: hostile files that are valid after normalisation (the measure with a newline is stripped)
ACCEPTED = {"measure_newline": b"name: x\ndatasets: [cranfield]\nmeasures: [\"nDCG@10\\n\", \" R@100 \"]\n"
            b"systems: [{name: s, stages: [{ranker: bm25}]}]\n"}  # fmt: skip


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_file_is_a_fast_located_error(tmp_path, case):
    path = tmp_path / f"{case}.yaml"
    path.write_bytes(HOSTILE[case])
    before = _peak_mb()
    with _Clock() as clock, pytest.raises(ConfigError) as info:
        load_pipeline(path)
    clock.check(case)
    assert _peak_mb() - before < PEAK_MB
    assert str(info.value).startswith(str(path) + ": "), str(info.value)
    assert len(str(info.value)) < 2000, "the message stays readable"


def test_hostile_names_are_errors_naming_both_systems(tmp_path):
    for case, (a, b) in {"collide_slug_gt": ("bm25>>x", "bm25__x"), "collide_percent": ("a%1", "a_1"),
                         "collide_at": ("x@y", "x_y"), "collide_case": ("BM25", "bm25")}.items():  # fmt: skip
        path = tmp_path / f"{case}.yaml"
        path.write_bytes(HOSTILE[case])
        with pytest.raises(ConfigError, match="same run file") as info:
            load_pipeline(path)
        assert repr(a) in str(info.value) and repr(b) in str(info.value) and "systems[1].name" in str(info.value)


def test_measure_names_are_stripped_and_model_names_checked_up_front(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_bytes(ACCEPTED["measure_newline"])
    assert load_pipeline(path).measures == ["nDCG@10", "R@100"]
    for case, where in (("train_on_dotdot", "params.train_on"), ("model_dotdot", "params.model"),
                        ("model_slash", "params.model")):  # fmt: skip
        path = tmp_path / f"{case}.yaml"
        path.write_bytes(HOSTILE[case])
        with pytest.raises(ConfigError, match="systems\\[1\\].stages\\[1\\]." + where.replace(".", "\\.")):
            load_pipeline(path)


def test_unreadable_paths_are_located_errors(tmp_path):
    cases = {"over-long name": tmp_path / ("p" * 5000 + ".yaml"), "directory": tmp_path,
             "device": Path("/dev/zero"), "missing": tmp_path / "nope.yaml"}  # fmt: skip
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    cases["fifo"] = fifo  # reading a FIFO would block forever
    for what, path in cases.items():
        with _Clock() as clock, pytest.raises(ConfigError) as info:
            load_pipeline(path)
        clock.check(what)
        assert len(str(info.value)) < 600, what
    with pytest.raises(ConfigError, match="cannot read"):
        load_pipeline("a\x00b.yaml")


def test_accepted_bounds_run_components_build(tmp_path):
    """The largest accepted values build their rankers (the runner's own checks agree with the schema)."""
    from irrobust.pipeline import components
    from irrobust.pipeline.registry import RANKERS

    assert components.MAX_K1 < 3.4e38  # Lucene keeps k1 as a 32-bit float
    for name, params in (("bm25", {"k": MAX_K, "k1": components.MAX_K1, "b": 1.0}), ("bm25", {"k1": 0.0, "b": 0.0}),
                         ("ql", {"k": MAX_K, "mu": components.MAX_MU}),
                         ("rm3", {"k": MAX_K, "fb_terms": 1000, "fb_docs": 1000})):  # fmt: skip
        RANKERS[name].params.model_validate(params)


# -- through the real CLI (slow) ---------------------------------------------------------------------------------


def _cli_cases(n: int, seed: int = 17) -> dict[str, bytes]:
    rng = random.Random(seed)
    pick = _Chooser(rng=rng)
    out = {f"hostile-{k}": v for k, v in HOSTILE.items()}
    for i in range(n):
        name = rng.choice(sorted(TEXTS))
        if rng.random() < 0.5:
            data = dump(mutate(copy.deepcopy(BASES[name]), pick, rng.randint(1, 3)))
        else:
            data = mutate_bytes(TEXTS[name], pick, rng.randint(1, 2))
        out[f"gen{i:03d}-{name}"] = data
    for i in range(8):  # cheap runnable ones: small numeric mutations of the tiny lexical pipeline
        doc = yaml.safe_load(TINY)
        params = doc["systems"][0]["stages"][0]["params"]
        params["k1"] = rng.choice([0.0, 0.3, 2.5, 100.0, -1.0, float("inf")])
        params["k"] = rng.choice([1, 7, MAX_K, MAX_K + 1])
        doc["systems"][2]["fuse"]["weights"] = [rng.choice([-1000.0, 0.0, 1.0, 1e308]), 1.0]
        out[f"tiny{i}"] = dump(doc)
    return out


@pytest.mark.slow
def test_cli_corpus(tmp_path, seed):
    """Hostile and generated files through ``irrobust validate``; accepted tiny ones through ``irrobust run``."""
    exe = Path(sys.executable).with_name("irrobust")
    cases = _cli_cases(CLI_CASES)
    counts: Counter = Counter()
    work = tmp_path / "cwd"
    work.mkdir()
    # the shared caches (ir_datasets, indexes) stay where they are; the working directory and the folder of the
    # pipeline files must receive nothing but --out
    env = {**os.environ, "IRROBUST_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    runs = 0
    for name, data in cases.items():
        path = tmp_path / "files" / f"{name}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        t0 = time.perf_counter()
        proc = subprocess.run([str(exe), "validate", str(path)], cwd=work, env=env, capture_output=True, text=True,
                              timeout=120)  # fmt: skip
        seconds = time.perf_counter() - t0
        assert proc.returncode in (0, 2) and "Traceback" not in proc.stderr, (name, proc.stderr[-2000:])
        assert seconds < 60, (name, seconds)
        if proc.returncode == 2:
            assert proc.stderr.startswith("irrobust: error: ") and path.name in proc.stderr.replace("\n", ""), name
        counts["validate:" + ("ok" if proc.returncode == 0 else "error")] += 1
        counts["validate:max_seconds"] = max(counts["validate:max_seconds"], round(seconds))
        if proc.returncode == 0 and name.startswith("tiny") and runs < 4:
            runs += 1
            out = tmp_path / "outs" / name
            listing = sorted(str(p) for p in tmp_path.rglob("*") if "outs" not in p.parts)
            proc = subprocess.run([str(exe), "run", str(path), "--out", str(out), "--quiet"], cwd=work, env=env,
                                  capture_output=True, text=True, timeout=900)  # fmt: skip
            assert proc.returncode in (0, 2) and "Traceback" not in proc.stderr, (name, proc.stderr[-3000:])
            assert sorted(str(p) for p in tmp_path.rglob("*") if "outs" not in p.parts) == listing, name
            counts["run:" + ("ok" if proc.returncode == 0 else "error")] += 1
    print(f"\nCLI fuzz corpus: {len(cases)} files; {dict(counts)}")
    assert counts["validate:ok"] + counts["validate:error"] >= CLI_CASES + len(HOSTILE)
    assert counts["run:ok"] >= 1


@pytest.mark.slow
def test_cli_unreadable_paths(tmp_path):
    """Through the real CLI: an over-long path (an ``OSError`` traceback before), a FIFO, a directory, a device."""
    exe = Path(sys.executable).with_name("irrobust")
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    env = {**os.environ, "IRROBUST_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for path in (tmp_path / ("p" * 5000 + ".yaml"), fifo, tmp_path, Path("/dev/zero")):
        proc = subprocess.run([str(exe), "validate", str(path)], env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert proc.stderr.startswith("irrobust: error: ") and len(proc.stderr) < 1000, proc.stderr
