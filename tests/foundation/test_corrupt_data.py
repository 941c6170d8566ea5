"""Corrupt staged collections: every corruption is a located DataError (or a documented, counted warning).

A catalogue of corruptions of the staged small collections (Cranfield, CISI, CACM, Vaswani, SciFact):
truncated, duplicated and invalid files, wrong encodings, binary garbage, NUL bytes, duplicate ids, empty
queries, unknown judged documents, bad labels, missing columns and closing tags, huge documents, and
Cranfield's positional query ids (one deleted query would shift every judgement). Each case is a private
seed directory in ``tmp_path`` holding the collection with one file corrupted (the other files are links
to the staged copies).

* The default suite loads every case through irrobust's loaders in one child Python process (its own
  ``IR_DATASETS_HOME``; no index, no JVM): ``test_corruptions_in_process``.
* ``-m slow`` runs every case through the real CLI (``irrobust run`` on a tiny BM25 pipeline, with
  ``IRROBUST_SEED_DIR`` and ``IRROBUST_HOME`` in ``tmp_path``): ``test_corruptions_through_the_cli``.

Outcomes: ``error`` (a DataError naming the dataset, the file and the line), ``warning`` (loaded, with a
documented warning whose count is recorded in ``Dataset.source_check``), ``ok`` (loaded, no warning: a
silent acceptance), ``traceback`` (anything else). Every corrupted case must be ``error`` or its
documented ``warning``; the real staged collections must load (with their documented quirk warnings).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

COLLECTION_FILES = {
    "cranfield": ("cranfield/cran.all.1400", "cranfield/cran.qry", "cranfield/cranqrel"),
    "cacm": ("cacm/cacm.all", "cacm/query.text", "cacm/qrels.text"),
    "cisi": ("cisi/CISI.ALL", "cisi/CISI.QRY", "cisi/CISI.REL"),
    "vaswani": ("vaswani/doc-text.trec", "vaswani/query-text.trec", "vaswani/qrels"),
    "beir/scifact": ("scifact/scifact.zip",),
}
DATASET_OF = {"cranfield": "cranfield", "cacm": "cacm", "cisi": "cisi", "vaswani": "vaswani",
              "beir/scifact": "beir/scifact/test"}  # fmt: skip

Mutation = Callable[[bytes], bytes | None]  # None: the file is deleted


@dataclass(frozen=True)
class Case:
    """One corruption: ``file`` (relative to the seed directory) rewritten by ``mutate``."""

    id: str
    collection: str
    file: str | None  # None: the unmodified staged collection
    mutate: Mutation | None
    expect: str  # "error" | "warning"
    located: bool = True  # the error names a line (False: a whole-file problem such as a truncated zip)
    warning: str = ""  # for expect == "warning": a regex the warning must match


# --- mutations -------------------------------------------------------------------------------------------


def replace(old: bytes, new: bytes, count: int = 1) -> Mutation:
    def fn(data: bytes) -> bytes:
        assert old in data, old
        return data.replace(old, new, count)

    return fn


def regex(pattern: bytes, new: bytes, count: int = 1) -> Mutation:
    def fn(data: bytes) -> bytes:
        out, n = re.subn(pattern, new, data, count=count, flags=re.M)
        assert n, pattern
        return out

    return fn


def truncate(fraction: float) -> Mutation:
    return lambda data: data[: int(len(data) * fraction)]


def drop_lines(first: int, last: int) -> Mutation:
    """Delete lines first..last (1-based, inclusive)."""

    def fn(data: bytes) -> bytes:
        lines = data.splitlines(keepends=True)
        return b"".join(lines[: first - 1] + lines[last:])

    return fn


def drop_last_record(marker: bytes) -> Mutation:
    return lambda data: data[: data.rindex(marker)]


def doubled(data: bytes) -> bytes:
    return data + data


def utf16(data: bytes) -> bytes:
    return data.decode("utf-8").encode("utf-16")


def binary_garbage(data: bytes) -> bytes:
    import random

    rng = random.Random(17)
    mid = len(data) // 2
    return data[:mid] + bytes(rng.randrange(256) for _ in range(4096)) + data[mid:]


def swap_records(marker: bytes, i: int, j: int) -> Mutation:
    """Swap the i-th and j-th records that start with ``marker`` (0-based)."""

    def fn(data: bytes) -> bytes:
        starts = [m.start() for m in re.finditer(re.escape(marker), data)]
        bounds = [(s, starts[k + 1] if k + 1 < len(starts) else len(data)) for k, s in enumerate(starts)]
        recs = [data[a:b] for a, b in bounds]
        recs[i], recs[j] = recs[j], recs[i]
        return data[: starts[0]] + b"".join(recs)

    return fn


def append(line: bytes) -> Mutation:
    return lambda data: data + line


def in_zip(member: str, fn: Mutation) -> Mutation:
    """Rewrite one member of a zip archive."""

    def outer(data: bytes) -> bytes:
        src = zipfile.ZipFile(io.BytesIO(data))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as dst:
            for info in src.infolist():
                body = src.read(info.filename)
                dst.writestr(info.filename, fn(body) if info.filename == member else body)
        return buf.getvalue()

    return outer


def drop_zip_member(member: str) -> Mutation:
    def fn(data: bytes) -> bytes:
        src = zipfile.ZipFile(io.BytesIO(data))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as dst:
            for info in src.infolist():
                if info.filename != member:
                    dst.writestr(info.filename, src.read(info.filename))
        return buf.getvalue()

    return fn


HUGE = b"aerodynamic " * 200_000  # 2.4 MB in one document


def E(id: str, coll: str, file: str, fn: Mutation, located: bool = True) -> Case:  # noqa: N802
    return Case(id, coll, file, fn, "error", located)


def W(id: str, coll: str, file: str, fn: Mutation, warning: str) -> Case:  # noqa: N802
    return Case(id, coll, file, fn, "warning", True, warning)


CR, CQ, CJ = COLLECTION_FILES["cranfield"]
AD, AQ, AJ = COLLECTION_FILES["cacm"]
ID, IQ, IJ = COLLECTION_FILES["cisi"]
VD, VQ, VJ = COLLECTION_FILES["vaswani"]
SZ = COLLECTION_FILES["beir/scifact"][0]
SC, SQ, ST = "scifact/corpus.jsonl", "scifact/queries.jsonl", "scifact/qrels/test.tsv"

# fmt: off
CASES: list[Case] = [
    # the real staged collections load; their documented quirks are counted warnings
    Case("cranfield-staged", "cranfield", None, None, "warning", warning=r"2 empty documents"),
    Case("cacm-staged", "cacm", None, None, "warning", warning=r"2 control characters"),
    Case("cisi-staged", "cisi", None, None, "ok"),
    Case("vaswani-staged", "vaswani", None, None, "ok"),
    Case("scifact-staged", "beir/scifact", None, None, "ok"),
    # --- Cranfield: corpus
    E("cran-docs-truncated-mid-record", "cranfield", CR, truncate(0.5)),
    E("cran-docs-truncated-last-record", "cranfield", CR, drop_last_record(b".I 1400\n")),
    E("cran-docs-duplicate-id", "cranfield", CR, replace(b".I 2\n", b".I 1\n")),
    E("cran-docs-latin1", "cranfield", CR, replace(b"experimental investigation", b"exp\xe9rimental investigation")),
    E("cran-docs-utf16", "cranfield", CR, utf16),
    E("cran-docs-0xff", "cranfield", CR, replace(b"boundary layer", b"boundary \xff layer")),
    E("cran-docs-binary-garbage", "cranfield", CR, binary_garbage),
    E("cran-docs-nul-bytes", "cranfield", CR, replace(b"slipstream", b"slip\x00\x00stream")),
    E("cran-docs-huge-document", "cranfield", CR, replace(b".I 3\n.T\n", b".I 3\n.T\n" + HUGE + b"\n")),
    E("cran-docs-unknown-field", "cranfield", CR, replace(b".I 5\n.T\n", b".I 5\n.Z\n")),
    E("cran-docs-non-integer-id", "cranfield", CR, replace(b".I 7\n", b".I 7a\n")),
    E("cran-docs-text-before-first-record", "cranfield", CR, lambda d: b"garbage header\n" + d),
    E("cran-docs-empty-file", "cranfield", CR, lambda d: b""),
    E("cran-docs-doubled", "cranfield", CR, doubled),
    E("cran-docs-huge-number-id", "cranfield", CR, replace(b".I 7\n", b".I " + b"9" * 5000 + b"\n")),
    W("cran-docs-text-edited", "cranfield", CR, replace(b"experimental investigation", b"changed investigation"),
      r"differs from the published"),
    W("cran-docs-one-more-empty", "cranfield", CR, lambda d: re.sub(rb"(?ms)^\.I 3\n.*?(?=^\.I 4\n)",
                                                                  b".I 3\n.T\n.A\n.B\n.W\n", d), r"3 empty documents"),
    # undetectable from the file's structure (a cut exactly at a line end inside the last document, a changed
    # grade): only the published checksum tells, so these load with the "differs from the published" warning
    W("cran-docs-truncated-at-a-line-end", "cranfield", CR, lambda d: d[: d.rindex(b"\n", 0, len(d) - 1) + 1],
      r"cran\.all\.1400 differs from the published"),
    W("cran-qrels-grade-changed", "cranfield", CJ, replace(b"1 184 2 \n", b"1 184 3 \n"), r"cranqrel differs from the published"),
    # --- Cranfield: queries (ids are positional: cranqrel's 1..225 follow the file order)
    E("cran-queries-one-deleted", "cranfield", CQ, regex(rb"^\.I 004\r\n\.W\r\n(?:[^.].*\n)+", b"")),
    E("cran-queries-two-swapped", "cranfield", CQ, swap_records(b".I ", 3, 4)),
    E("cran-queries-truncated", "cranfield", CQ, truncate(0.6)),
    E("cran-queries-last-dropped", "cranfield", CQ, drop_last_record(b".I 365")),
    E("cran-queries-duplicated-file", "cranfield", CQ, doubled),
    E("cran-queries-empty-query", "cranfield", CQ, regex(rb"^(\.I 002\r\n\.W\r\n)(?:[^.].*\n)+", rb"\1")),
    E("cran-queries-latin1", "cranfield", CQ, replace(b"similarity laws", b"similarit\xe9 laws")),
    E("cran-queries-utf16", "cranfield", CQ, utf16),
    # --- Cranfield: qrels
    E("cran-qrels-missing-column", "cranfield", CJ, replace(b"1 184 2 \n", b"1 184\n")),
    E("cran-qrels-negative-label", "cranfield", CJ, replace(b"1 184 2 \n", b"1 184 -2 \n")),
    E("cran-qrels-non-integer-label", "cranfield", CJ, replace(b"1 184 2 \n", b"1 184 two \n")),
    E("cran-qrels-unknown-document", "cranfield", CJ, replace(b"1 184 2 \n", b"1 18400 2 \n")),
    E("cran-qrels-unknown-query", "cranfield", CJ, append(b"\n226 5 2")),
    E("cran-qrels-duplicate-pair", "cranfield", CJ, replace(b"1 184 2 \n", b"1 184 2 \n1 184 3 \n")),
    E("cran-qrels-truncated", "cranfield", CJ, truncate(0.5)),
    E("cran-qrels-binary-garbage", "cranfield", CJ, binary_garbage),
    E("cran-qrels-file-missing", "cranfield", CJ, lambda d: None, located=False),
    # --- CACM
    E("cacm-docs-duplicate-id", "cacm", AD, replace(b".I 2\n", b".I 1\n")),
    E("cacm-docs-latin1", "cacm", AD, replace(b"Preliminary", b"Pr\xe9liminary")),
    E("cacm-docs-truncated", "cacm", AD, truncate(0.7)),
    E("cacm-docs-nul-bytes", "cacm", AD, replace(b"Preliminary", b"Prelim\x00inary")),
    E("cacm-docs-huge-document", "cacm", AD, replace(b".I 3\n.T\n", b".I 3\n.T\n" + HUGE + b"\n")),
    W("cacm-docs-control-character", "cacm", AD, replace(b"Preliminary", b"Prelim\x01inary"), r"3 control characters"),
    E("cacm-queries-duplicated-file", "cacm", AQ, doubled),
    E("cacm-queries-empty-query", "cacm", AQ, regex(rb"^(\.I 2\n\.W\n)(?:[^.].*\n)+", rb"\1")),
    E("cacm-queries-truncated", "cacm", AQ, truncate(0.4)),
    E("cacm-queries-nul-bytes", "cacm", AQ, replace(b"Time Sharing", b"Time\x00Sharing")),
    E("cacm-qrels-missing-column", "cacm", AJ, replace(b"01 1410  0 0\n", b"01\n")),
    E("cacm-qrels-unknown-document", "cacm", AJ, append(b"01 999999 0 0\n")),
    E("cacm-qrels-non-numeric", "cacm", AJ, append(b"01 notanumber 0 0\n")),
    E("cacm-qrels-negative-value", "cacm", AJ, replace(b"01 1410  0 0\n", b"01 1410  -1 0\n")),
    E("cacm-qrels-unknown-query", "cacm", AJ, append(b"65 1410 0 0\n")),
    # --- CISI
    E("cisi-docs-duplicate-id", "cisi", ID, replace(b".I 2\r\n", b".I 1\r\n")),
    E("cisi-docs-truncated", "cisi", ID, truncate(0.3)),
    E("cisi-docs-binary-garbage", "cisi", ID, binary_garbage),
    E("cisi-docs-latin1", "cisi", ID, replace(b"18 Editions", b"18 \xe9ditions")),
    E("cisi-queries-utf16", "cisi", IQ, utf16),
    E("cisi-queries-duplicate-id", "cisi", IQ, replace(b".I 2\r\n", b".I 1\r\n")),
    E("cisi-qrels-missing-column", "cisi", IJ, replace(b"     1     28\t0\t0.000000\r\n", b"     1\r\n")),
    E("cisi-qrels-unknown-document", "cisi", IJ, replace(b"     1     28\t", b"     1  99999\t")),
    E("cisi-qrels-truncated", "cisi", IJ, truncate(0.5)),
    W("cisi-docs-crlf-to-lf", "cisi", ID, lambda d: d.replace(b"\r\n", b"\n"), r"differs from the published"),
    # --- Vaswani (Terrier's TREC layout)
    E("vaswani-docs-duplicate-id", "vaswani", VD, replace(b"<DOCNO>2</DOCNO>", b"<DOCNO>1</DOCNO>")),
    E("vaswani-docs-missing-closing-tag", "vaswani", VD, replace(b"is described\n</DOC>\n", b"is described\n")),
    E("vaswani-docs-missing-docno", "vaswani", VD, replace(b"<DOCNO>2</DOCNO>\n", b"")),
    E("vaswani-docs-0xff", "vaswani", VD, replace(b"compact memories", b"compact \xff memories")),
    E("vaswani-docs-truncated", "vaswani", VD, truncate(0.5)),
    E("vaswani-docs-utf16", "vaswani", VD, utf16),
    E("vaswani-docs-huge-document", "vaswani", VD, replace(b"is described\n", b"is described\n" + HUGE + b"\n")),
    E("vaswani-queries-duplicated-file", "vaswani", VQ, doubled),
    E("vaswani-queries-empty-query", "vaswani", VQ,
      replace(b"<num>2</num><title>\nMATHEMATICAL ANALYSIS AND DESIGN DETAILS OF WAVEGUIDE FED MICROWAVE RADIATIONS\n",
              b"<num>2</num><title>\n")),
    E("vaswani-queries-missing-closing-tag", "vaswani", VQ, replace(b"</title>\n", b"", 1)),
    E("vaswani-queries-file-missing", "vaswani", VQ, lambda d: None, located=False),
    E("vaswani-qrels-non-integer-label", "vaswani", VJ, replace(b"1 0 1239 1\n", b"1 0 1239 yes\n")),
    E("vaswani-qrels-negative-label", "vaswani", VJ, replace(b"1 0 1239 1\n", b"1 0 1239 -1\n")),
    E("vaswani-qrels-missing-column", "vaswani", VJ, replace(b"1 0 1239 1\n", b"1 0 1239\n")),
    E("vaswani-qrels-unknown-document", "vaswani", VJ, replace(b"1 0 1239 1\n", b"1 0 99999 1\n")),
    E("vaswani-qrels-unknown-query", "vaswani", VJ, append(b"94 0 1239 1\n")),
    # --- SciFact (BEIR zip)
    E("scifact-zip-truncated", "beir/scifact", SZ, truncate(0.5), located=False),
    E("scifact-zip-garbage", "beir/scifact", SZ, lambda d: b"PK\x03\x04" + bytes(range(256)) * 8, located=False),
    E("scifact-zip-member-missing", "beir/scifact", SZ, drop_zip_member(SQ), located=False),
    E("scifact-corpus-invalid-json-line", "beir/scifact", SZ, in_zip(SC, replace(b'{"_id": "5836"', b'{"_id: "5836"'))),
    E("scifact-corpus-deeply-nested-json", "beir/scifact", SZ,
      in_zip(SC, lambda d: b"[" * 200_000 + b"]" * 200_000 + b"\n" + d)),
    E("scifact-corpus-duplicate-id", "beir/scifact", SZ, in_zip(SC, replace(b'{"_id": "5836"', b'{"_id": "4983"'))),
    E("scifact-corpus-latin1", "beir/scifact", SZ, in_zip(SC, replace(b"Microstructural", b"Micr\xf6structural"))),
    E("scifact-corpus-truncated", "beir/scifact", SZ, in_zip(SC, truncate(0.5))),
    E("scifact-queries-empty-query", "beir/scifact", SZ,
      in_zip(SQ, replace(b'"text": "0-dimensional biomaterials show inductive properties."', b'"text": ""'))),
    E("scifact-qrels-negative-score", "beir/scifact", SZ, in_zip(ST, replace(b"1\t31715818\t1\r\n", b"1\t31715818\t-1\r\n"))),
    E("scifact-qrels-missing-column", "beir/scifact", SZ, in_zip(ST, replace(b"1\t31715818\t1\r\n", b"1\t31715818\r\n"))),
    E("scifact-qrels-unknown-document", "beir/scifact", SZ, in_zip(ST, replace(b"1\t31715818\t1\r\n", b"1\t1\t1\r\n"))),
]
# fmt: on


def make_seed(case: Case, staged: Path, root: Path) -> Path:
    """A private seed directory for ``case``: the corrupted file written, the others linked to ``staged``."""
    seed = root / case.id
    for rel in COLLECTION_FILES[case.collection]:
        dst = seed / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if rel == case.file:
            body = case.mutate((staged / rel).read_bytes())
            if body is not None:
                dst.write_bytes(body)
        else:
            dst.symlink_to(staged / rel)
    return seed


WORKER = r"""
import hashlib, json, logging, os, sys, time, traceback
cases = json.load(open(sys.argv[1]))
records = []
class Grab(logging.Handler):
    def emit(self, record):
        records.append(record.getMessage())
logging.getLogger("irrobust").addHandler(Grab())
import irrobust as ir
from irrobust.errors import DataError
out = []
for case in cases:
    os.environ["IRROBUST_SEED_DIR"] = case["seed"]
    del records[:]
    res = {"id": case["id"]}
    t0 = time.process_time()
    try:
        ds = ir.dataset(case["dataset"])
        q, r = ds.queries, ds.qrels
        h = hashlib.sha256(q.to_csv().encode() + r.to_csv().encode())
        for docno, text in ds.docs.iter():
            h.update(f"{docno}\t{text}\n".encode())
        ds.validate()
        check = getattr(ds, "source_check", None)
        res.update(outcome="warning" if records else "ok", message="\n".join(records), fingerprint=h.hexdigest(),
                   recorded=json.dumps(check, sort_keys=True, default=str) if check is not None else "")
    except DataError as exc:
        res.update(outcome="error", message=str(exc))
    except BaseException as exc:
        res.update(outcome="traceback", message="".join(traceback.format_exception(exc))[-3000:])
    res["cpu_seconds"] = round(time.process_time() - t0, 3)
    out.append(res)
json.dump(out, open(sys.argv[2], "w"))
"""


def _child_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("IR_DATASETS_HOME", "IRROBUST_INDEXES", "IRROBUST_SEED_DIR")
    }
    env.update(IRROBUST_HOME=str(tmp_path / "home"), IRROBUST_THREADS="1", OMP_NUM_THREADS="1")
    return env


def classify(case: Case, res: dict, clean: dict[str, str]) -> str:
    """``as-expected`` or what went wrong (``silent``, ``silent-different``, ``traceback``, ``unlocated`` ...)."""
    outcome, msg = res["outcome"], res.get("message", "")
    if outcome == "traceback":
        return "traceback"
    if case.expect == "error":
        if outcome == "ok":
            return "silent-different" if res.get("fingerprint") != clean.get(case.collection) else "silent"
        if outcome == "warning":
            return "warning-instead-of-error"
        name = Path(case.file).name
        if case.collection.split("/")[-1] not in msg or name not in msg:
            return "unlocated"
        if case.located and not re.search(r"line \d+", msg):
            return "unlocated"
        return "as-expected"
    if outcome != case.expect:
        return f"{outcome}-instead-of-{case.expect}"
    if case.expect == "warning" and not re.search(case.warning, msg):
        return "wrong-warning"
    return "as-expected"


def _run_in_process(cases: list[Case], staged: Path, tmp_path: Path, timeout: int = 600) -> list[dict]:
    spec = [{"id": c.id, "dataset": DATASET_OF[c.collection], "seed": str(make_seed(c, staged, tmp_path / "seeds"))}
            for c in cases]  # fmt: skip
    (tmp_path / "cases.json").write_text(json.dumps(spec))
    proc = subprocess.run([sys.executable, "-c", WORKER, str(tmp_path / "cases.json"), str(tmp_path / "out.json")],
                          env=_child_env(tmp_path), capture_output=True, text=True, timeout=timeout)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((tmp_path / "out.json").read_text())


def _summary(cases: list[Case], results: list[dict]) -> tuple[Counter, list[str]]:
    clean = {c.collection: r.get("fingerprint") for c, r in zip(cases, results, strict=True) if c.file is None}
    counts: Counter = Counter()
    problems = []
    for case, res in zip(cases, results, strict=True):
        verdict = classify(case, res, clean)
        counts[res["outcome"] if verdict == "as-expected" else verdict] += 1
        if verdict != "as-expected":
            problems.append(f"{case.id}: {verdict}: {res.get('message', '')[:300]}")
    return counts, problems


def _selected(keep_staged: bool = True) -> list[Case]:
    """All cases, or those whose id matches ``$IRROBUST_CORRUPT_CASES`` (a regex, to rerun a few) plus, with
    ``keep_staged``, the unmodified collections (whose fingerprints tell a silent change from a silent no-op)."""
    only = os.environ.get("IRROBUST_CORRUPT_CASES")
    return [c for c in CASES if not only or (keep_staged and c.file is None) or re.search(only, c.id)]


def test_catalogue_is_large_enough():
    corrupted = [c for c in CASES if c.file is not None]
    assert len(corrupted) >= 50 and len({c.id for c in CASES}) == len(CASES)
    assert {c.collection for c in corrupted} == set(COLLECTION_FILES)


def test_corruptions_in_process(tmp_path, seed):
    """Every case through irrobust's loaders (no indexing): located errors or documented warnings only."""
    cases = _selected()
    results = _run_in_process(cases, seed, tmp_path)
    counts, problems = _summary(cases, results)
    print(f"in-process: {dict(counts)}")
    assert not problems, "\n".join(problems)


PIPELINE = """\
name: corrupt-{name}
seed: 1
datasets: [{dataset}]
measures: [nDCG@10]
systems:
  - name: bm25
    stages: [{{ranker: bm25, params: {{k: 10}}}}]
"""


@pytest.mark.slow
def test_corruptions_through_the_cli(tmp_path, seed):
    """Every case through ``irrobust run``: exit 2 with a located DataError, or exit 0 with the documented warning."""
    irrobust = Path(sys.executable).with_name("irrobust")
    counts: Counter = Counter()
    problems = []
    env = _child_env(tmp_path)
    for case in _selected(keep_staged=False):
        case_seed = make_seed(case, seed, tmp_path / "seeds")
        name = case.collection.replace("/", "-")
        pipe = tmp_path / f"{name}.yaml"
        pipe.write_text(PIPELINE.format(name=name, dataset=DATASET_OF[case.collection]))
        proc = subprocess.run([str(irrobust), "run", str(pipe), "--out", str(tmp_path / "runs" / case.id), "--quiet"],
                              env={**env, "IRROBUST_SEED_DIR": str(case_seed)}, capture_output=True, text=True,
                              timeout=900)  # fmt: skip
        err = proc.stderr
        if "Traceback" in err or proc.returncode not in (0, 2):
            verdict = "traceback"
        elif case.expect == "error":
            msg = err.split("irrobust: error:", 1)[-1]
            if proc.returncode == 0:
                verdict = "silent-warning" if "warning" in err else "silent"
            elif "DataError" in err or "irrobust: error:" not in err:
                verdict = "unlocated"
            else:
                name_ok = case.collection.split("/")[-1] in msg and Path(case.file).name in msg
                line_ok = not case.located or re.search(r"line\s+\d+", msg)
                verdict = "error" if name_ok and line_ok else "unlocated"
        else:
            ok = proc.returncode == 0
            if ok and case.expect == "warning":  # the warning is printed and recorded beside the seeded cache
                marker = tmp_path / "home" / ".cache" / "ir_datasets" / case.collection / ".irrobust-check.json"
                recorded = json.loads(marker.read_text())["check"]
                ok = bool(re.search(case.warning, err)) and any(
                    re.search(case.warning, w) for w in recorded["warnings"]
                )
                manifest = json.loads((tmp_path / "runs" / case.id / "manifest.json").read_text())
                info = manifest.get("datasets", {}).get(DATASET_OF[case.collection], {})
                if "source_check" in info:  # recorded in the run's manifest too
                    ok = ok and info["source_check"] == recorded
            verdict = case.expect if ok else f"failed-{case.expect}"
        counts[verdict] += 1
        if verdict not in ("error", "warning", "ok"):
            problems.append(f"{case.id}: {verdict}: rc={proc.returncode} {err[-600:]}")
        shutil_rmtree(tmp_path / "runs" / case.id)
    print(f"cli: {dict(counts)}")
    assert not problems, "\n".join(problems)


def shutil_rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
