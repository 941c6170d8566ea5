"""Strict checks of a staged collection's source files, run before they are seeded into ir_datasets' cache.

ir_datasets' parsers are lenient: a duplicated document id, a missing closing tag, a deleted Cranfield query
or a qrels line with a missing column can load without complaint and give a silently wrong evaluation, and
a wrong encoding ends in a traceback. :func:`check_collection` reads every source file of a staged collection
(:data:`irrobust.data.seed.RECIPES`) with parsers that accept only what the files mean, and raises
:class:`~irrobust.errors.DataError` naming the dataset, the file and the line for:

* encodings: a file that is not UTF-8 (Latin-1 bytes, a 0xff byte, UTF-16, binary garbage), NUL bytes,
  a byte-order mark, a carriage return inside a line, more than :data:`MAX_CONTROL_CHARS` control characters;
* size: a file over :data:`MAX_SOURCE_BYTES`, a document over :data:`MAX_DOC_CHARS` characters;
* structure: text outside records, an unknown field marker, a record without its required fields, a
  missing ``</DOC>`` / ``</title>`` / ``</top>`` tag, invalid JSON, a file cut in the middle of a line
  (where the published copy ends with a newline), a truncated or damaged zip archive or a missing member;
* content: duplicate document or query ids, an empty query, a qrels line with the wrong number of columns,
  a non-integer or negative label (Cranfield: a grade outside -1, 1..4), a duplicate judgement, a judged
  document or query that the collection does not have, and a record count that differs from the
  published collection (:data:`PUBLISHED`: a truncated, doubled or incomplete file);
* Cranfield's positional query ids: ``cranqrel`` numbers queries 1..225 by their position in ``cran.qry``,
  so the query file's own ``.I`` numbers must follow the published sequence (:data:`CRANFIELD_QUERY_IDS`);
  a deleted, added or reordered query would attach every later judgement to the wrong query.

Quirks of the real collections are accepted with a warning and a count recorded in the
:class:`SourceCheck` (stored beside the seeded cache as ``.irrobust-check.json`` and exposed as
``Dataset.source_check``): empty documents (Cranfield has two, ``.I 471`` and ``.I 995``), a few control characters
(CACM has two 0x19 bytes), and source files whose SHA-256 differs from the published staged copy (they
passed every check above, but results may differ from published figures). Cranfield's 225 grade -1
judgements (mapped to gain 0) and queries without judgements are counted without a warning.

Example:
    >>> from irrobust import paths
    >>> from irrobust.data.seed import RECIPES
    >>> chk = check_collection("cranfield", paths.seed_dir(), RECIPES["cranfield"].sources)   # doctest: +SKIP
    >>> chk.counts["documents"], chk.counts["empty_documents"]  # doctest: +SKIP
    (1400, 2)
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from irrobust.data.classic import FormatError, parse_trec_docs, parse_trec_qrels, parse_trec_topics, scan_smart
from irrobust.errors import DataError

#: the largest source file (or zip member) read; the staged collections are at most 8 MB
MAX_SOURCE_BYTES = 256 * 2**20
#: the longest document (characters of title + text); the staged collections' longest has 10,127 (SciFact)
MAX_DOC_CHARS = 1_000_000
#: control characters (other than tab, line feed, carriage return before a line feed) tolerated with a warning
MAX_CONTROL_CHARS = 64

#: published facts of the staged copies (shared/data/MANIFEST.md): sha256, records, ends with a newline
PUBLISHED: dict[str, dict[str, tuple[str, int, bool]]] = {
    "cranfield": {
        "cranfield/cran.all.1400": ("73d33d7e445b884bc32332034e7bc7d07ad5089d9030ead9f1de3493da21da1d", 1400, True),
        "cranfield/cran.qry": ("99578ceb88941ef89c14faf7c63c23776a376d8fba319b990f01d0c601d8b03f", 225, True),
        "cranfield/cranqrel": ("92e54b58dac0b980152178f350d892fae66c8a239b8a11715b835fb8d2f6bc0e", 1837, False),
    },
    "cacm": {
        "cacm/cacm.all": ("34bdd3eb27a92e5f8068a785b53ef40b9dc0b800dbafc5bac79a80dd999cdc17", 3204, True),
        "cacm/query.text": ("ca004f06b57cb8a298c73bf55793174e50ff32fc83c5bb5f10ed2ed559f621e6", 64, True),
        "cacm/qrels.text": ("da4202b0c70cad7d91c9a028eaf8cbd0a4ca981ebdc3955eb75ba7b6de6f185c", 796, True),
    },
    "cisi": {
        "cisi/CISI.ALL": ("df5af339fa4623ef33e315f39f3e13c050d17535c18360c727bf3c96ce60ba40", 1460, True),
        "cisi/CISI.QRY": ("a5ffad2b39445ca5f4091351466b3d70dad9b4eb9a713b8334d46abb291ffd3c", 112, True),
        "cisi/CISI.REL": ("deb203a0dc07628d14dbcbc9a9803bf3c1f86e855570edb29d907663de8d6ea9", 3114, True),
    },
    "vaswani": {
        "vaswani/doc-text.trec": ("117ae7491647cb9725621bad52969a78307de19b1757852a0a2383659a856d36", 11429, True),
        "vaswani/query-text.trec": ("fef998db14818f74a22b2fb2be06425d5fb0dbd83ed9841fa0440e0a5477da7b", 93, True),
        "vaswani/qrels": ("1b3ed6a43752c7a7becb0dbd1614d662791bb7825b60182fd36be24d480ea447", 2083, True),
    },
    "beir/scifact": {
        "scifact/scifact.zip": ("392c424e8fc09b3b9982b8c8b07e978b2b6aa0f0c2c37143e99b97c8fe51c9cf", 0, False),
        "scifact/corpus.jsonl": ("", 5183, True),
        "scifact/queries.jsonl": ("", 1109, True),
        "scifact/qrels/train.tsv": ("", 919, True),
        "scifact/qrels/test.tsv": ("", 339, True),
    },
    "beir/nfcorpus": {
        "nfcorpus/nfcorpus.zip": ("e0679a4836ee771dda1065d260869a86f0baca20698c04793227b622e20bfb78", 0, False),
        "nfcorpus/corpus.jsonl": ("", 3633, True),
        "nfcorpus/queries.jsonl": ("", 3237, True),
        "nfcorpus/qrels/train.tsv": ("", 110575, True),
        "nfcorpus/qrels/dev.tsv": ("", 11385, True),
        "nfcorpus/qrels/test.tsv": ("", 12334, True),
    },
}

_CRANFIELD_QUERY_IDS = (
    "1 2 4 8 9 10 12 13 15 18 22 23 26 27 29 31 32 33 34 35 39 40 41 49 50 51 52 53 54 55 56 57 58 59 61 62 66 67 "
    "68 69 71 72 74 79 80 81 82 83 84 85 86 87 93 94 95 97 98 99 100 101 102 103 104 105 106 107 108 109 110 111 "
    "112 113 114 116 118 119 120 121 122 123 126 128 130 131 132 133 135 136 137 138 139 140 141 142 143 145 146 "
    "147 148 149 150 152 153 154 155 156 157 158 160 161 163 164 165 167 168 169 170 171 173 175 176 177 181 182 "
    "183 184 187 189 190 196 200 201 202 203 204 205 206 208 209 210 211 212 213 214 215 216 217 218 219 223 224 "
    "225 226 227 230 231 232 233 234 241 245 246 247 250 251 252 253 254 255 257 259 261 264 265 266 267 268 269 "
    "272 273 274 275 277 283 284 285 288 291 292 293 294 295 296 297 298 299 300 301 303 304 306 314 315 316 317 "
    "321 323 327 331 332 333 335 336 338 339 340 347 348 349 352 353 355 356 360 365"
)
#: the ``.I`` numbers of cran.qry in file order; cranqrel's query ids 1..225 are positions in this list
CRANFIELD_QUERY_IDS: tuple[int, ...] = tuple(int(x) for x in _CRANFIELD_QUERY_IDS.split())

#: SMART layouts: file role -> (allowed field markers, required in every record, text fields)
SMART_LAYOUT = {
    "cranfield": {"docs": ("TABW", "TABW", "TW"), "queries": ("W", "W", "W")},
    "cacm": {"docs": ("TWBANXKC", "TBNX", "TW"), "queries": ("WAN", "W", "W")},
    "cisi": {"docs": ("TAWXBKC", "TWX", "TW"), "queries": ("WTAB", "W", "W")},
}


@dataclass
class SourceCheck:
    """The outcome of checking one collection's source files (all errors are raised, not recorded).

    Attributes:
        collection: the collection, e.g. ``"cranfield"``.
        counts: documents, queries, judgements, empty_documents, control_characters, unjudged_queries, ...
        warnings: documented quirks accepted, each naming the file and line(s).
        modified: source files whose SHA-256 differs from the published staged copy.

    Example:
        >>> SourceCheck("cranfield", {"documents": 1400}).as_dict()["counts"]
        {'documents': 1400}
    """

    collection: str
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """A JSON-ready dict.

        Example:
            >>> sorted(SourceCheck("x").as_dict())
            ['collection', 'counts', 'modified', 'warnings']
        """
        return asdict(self)


class _Source:
    """One file being checked: its label (``cranfield/cran.qry``), display path and decoded lines."""

    def __init__(self, collection: str, label: str, display: str, data: bytes, chk: SourceCheck) -> None:
        self.collection, self.label, self.display, self.chk = collection, label, display, chk
        self.data = data
        self.lines = self._decode(data)

    def error(self, line: int | None, message: str) -> DataError:
        where = f"dataset {self.collection}: {self.display}" + (f" line {line}" if line else "")
        return DataError(message, where=where)

    def _decode(self, data: bytes) -> list[str]:
        if len(data) > MAX_SOURCE_BYTES:
            raise self.error(None, f"the file is {len(data):,} bytes, over the {MAX_SOURCE_BYTES:,}-byte limit for a "
                                   "collection file (irrobust.data.check.MAX_SOURCE_BYTES)")  # fmt: skip
        if not data.strip():
            raise self.error(1, "the file is empty")
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise self.error(1, "the file is UTF-16 (it starts with a UTF-16 byte-order mark); collection files "
                                "must be UTF-8: restore the staged copy or re-encode it")  # fmt: skip
        if data[:3] == b"\xef\xbb\xbf":
            raise self.error(1, "the file starts with a UTF-8 byte-order mark, which the collection's format "
                                "does not have")  # fmt: skip
        nul = data.find(b"\x00")
        if nul >= 0:
            raise self.error(_line_of(data, nul), f"NUL byte at column {_col_of(data, nul)}: binary data, or text "
                                                  "in UTF-16 without a byte-order mark")  # fmt: skip
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.error(_line_of(data, exc.start),
                             f"byte 0x{data[exc.start]:02x} at column {_col_of(data, exc.start)} is not valid UTF-8 "
                             "(Latin-1 or another encoding, or binary data); collection files must be UTF-8"
                             ) from None  # fmt: skip
        lone_cr = re.search(r"\r(?!\n)", text)
        if lone_cr:
            raise self.error(text.count("\n", 0, lone_cr.start()) + 1,
                             "a carriage return inside a line (binary data or damaged line ends)")  # fmt: skip
        controls = list(re.finditer(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]", text))
        if controls:
            first = text.count("\n", 0, controls[0].start()) + 1
            codes = sorted({f"0x{ord(m.group()):02x}" for m in controls})
            if len(controls) > MAX_CONTROL_CHARS:
                raise self.error(first, f"{len(controls)} control characters ({', '.join(codes[:5])}), the first "
                                        "here: binary data in a text file")  # fmt: skip
            self.chk.counts["control_characters"] = self.chk.counts.get("control_characters", 0) + len(controls)
            self.chk.warnings.append(
                f"{self.display}: {len(controls)} control characters ({', '.join(codes)}), the first at line {first}; "
                "kept (indexing treats them as separators)"
            )
        lines = text.replace("\r\n", "\n").split("\n")  # no lone carriage returns are left (checked above)
        if lines[-1] == "":
            lines.pop()
        return lines

    def parse(self, fn, *args):
        try:
            return fn(self.lines, *args)
        except FormatError as exc:
            raise self.error(exc.line, exc.message) from None

    def expect_count(self, kind: str, got: int, last_line: int) -> None:
        published = PUBLISHED.get(self.collection, {}).get(self.label)
        if published is None:
            return
        sha, want, newline = published
        if newline and not self.data.endswith(b"\n"):
            raise self.error(len(self.lines), "the file ends in the middle of a line: it is truncated")
        if want and got != want:
            more = "extra or duplicated records" if got > want else "the file is truncated or records are missing"
            raise self.error(last_line, f"{got} {kind}, but the published collection has {want}: {more} "
                                        f"(counted up to this line)")  # fmt: skip


_NUMBER = re.compile(r"[0-9]{1,18}")
_INTEGER = re.compile(r"-?[0-9]{1,18}")


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _col_of(data: bytes, offset: int) -> int:
    return offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _note_modified(chk: SourceCheck, label: str, display: str, data: bytes) -> None:
    sha = PUBLISHED.get(chk.collection, {}).get(label, ("",))[0]
    if sha and _sha256(data) != sha:
        chk.modified.append(label)
        chk.warnings.append(f"{display} differs from the published staged copy (sha256 {_sha256(data)[:12]}... "
                            f"instead of {sha[:12]}...); it passed every check, but results may differ from "
                            "published figures")  # fmt: skip


def _read(path: Path, collection: str) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise DataError(
                f"the file is {size:,} bytes, over the {MAX_SOURCE_BYTES:,}-byte limit for a collection "
                "file (irrobust.data.check.MAX_SOURCE_BYTES)",
                where=f"dataset {collection}: {path}",
            )
        return path.read_bytes()
    except OSError as exc:
        raise DataError(
            f"cannot read the file ({exc.strerror or exc})", where=f"dataset {collection}: {path}"
        ) from None


# --- documents and queries -------------------------------------------------------------------------------


def _check_docs(src: _Source, docs: list[tuple[int, str, str]]) -> dict[str, int]:
    """Duplicate ids, huge and empty documents; returns docno -> line."""
    seen: dict[str, int] = {}
    empty: list[tuple[str, int]] = []
    for line, docno, text in docs:
        if docno in seen:
            raise src.error(line, f"duplicate document id {docno!r} (first at line {seen[docno]})")
        seen[docno] = line
        if len(text) > MAX_DOC_CHARS:
            raise src.error(line, f"document {docno!r} has {len(text):,} characters, over the {MAX_DOC_CHARS:,} "
                                  "limit (irrobust.data.check.MAX_DOC_CHARS): a damaged file?")  # fmt: skip
        if not text.strip():
            empty.append((docno, line))
    src.expect_count("documents", len(docs), len(src.lines))
    src.chk.counts["documents"] = len(docs)
    src.chk.counts["empty_documents"] = len(empty)
    if empty:
        listed = ", ".join(f"{d!r} (line {n})" for d, n in empty[:5]) + (" ..." if len(empty) > 5 else "")
        src.chk.warnings.append(f"{src.display}: {len(empty)} empty documents: {listed}; kept (they match no query)")
    return seen


def _check_queries(src: _Source, queries: list[tuple[int, str, str]]) -> dict[str, int]:
    """Duplicate ids and empty queries; returns qid -> line."""
    seen: dict[str, int] = {}
    for line, qid, text in queries:
        if qid in seen:
            raise src.error(line, f"duplicate query id {qid!r} (first at line {seen[qid]})")
        seen[qid] = line
        if not text.strip():
            raise src.error(line, f"query {qid!r} has an empty text")
    src.expect_count("queries", len(queries), len(src.lines))
    src.chk.counts["queries"] = len(queries)
    return seen


def _smart(src: _Source, role: str) -> list[tuple[int, str, str]]:
    allowed, required, text_fields = SMART_LAYOUT[src.collection][role]
    records = src.parse(scan_smart, allowed, required)
    out = []
    for rec in records:
        ident = rec.id if role == "queries" else rec.id
        if role == "docs" and str(int(rec.id)) != rec.id:
            raise src.error(rec.line, f"document id {rec.id!r} has leading zeros; the qrels use {str(int(rec.id))!r}")
        out.append((rec.line, ident, rec.text(*text_fields)))
    return out


def _cranfield_query_order(src: _Source, queries: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """Check cran.qry's ``.I`` numbers against the published sequence; return queries with positional ids."""
    ids = [int(q[1]) for q in queries]
    for pos, (got, want) in enumerate(zip(ids, CRANFIELD_QUERY_IDS, strict=False), start=1):
        if got != want:
            if want not in ids:
                what = f"query '.I {want:03d}' is missing"
            elif ids.count(got) > 1:
                what = f"'.I {got:03d}' appears twice"
            else:
                what = "the queries are out of order"
            raise src.error(queries[pos - 1][0],
                            f"query #{pos} is '.I {got:03d}', but Cranfield's query #{pos} is '.I {want:03d}' "
                            f"({what}); cranqrel numbers queries by their position in this file, so every later "
                            "judgement would attach to the wrong query")  # fmt: skip
    if len(ids) != len(CRANFIELD_QUERY_IDS):
        n = len(ids)
        if n < len(CRANFIELD_QUERY_IDS):
            detail = f"'.I {CRANFIELD_QUERY_IDS[n]:03d}' (query #{n + 1}) and later are missing: the file is truncated"
        else:
            detail = f"query #{len(CRANFIELD_QUERY_IDS) + 1} onwards are extra"
        raise src.error(len(src.lines), f"{n} queries, but Cranfield has {len(CRANFIELD_QUERY_IDS)}; {detail}")
    return [(line, str(pos), text) for pos, (line, _, text) in enumerate(queries, start=1)]


# --- qrels -----------------------------------------------------------------------------------------------


def _cross(src: _Source, rows: list[tuple[int, str, str, int]], docs: dict[str, int], queries: dict[str, int]) -> None:
    """Judged documents and queries exist, no judgement twice, the published number of judgements; record counts."""
    seen: dict[tuple[str, str], int] = {}
    for line, qid, docno, _ in rows:
        if (qid, docno) in seen:
            raise src.error(line, f"query {qid!r} judges document {docno!r} twice (first at line {seen[qid, docno]})")
        seen[qid, docno] = line
        if docno not in docs:
            raise src.error(line, f"judged document {docno!r} is not in the collection (the qrels or the corpus is "
                                  "corrupt, or they belong to different collections)")  # fmt: skip
        if qid not in queries:
            raise src.error(line, f"judged query {qid!r} is not in the query file")
    src.expect_count("judgements", len(rows), len(src.lines))
    judged = {q for _, q, _, _ in rows}
    src.chk.counts["judgements"] = src.chk.counts.get("judgements", 0) + len(rows)
    src.chk.counts["judged_queries"] = max(src.chk.counts.get("judged_queries", 0), len(judged))


def _whitespace_qrels(src: _Source, columns: int, grades: set[int] | None) -> list[tuple[int, str, str, int]]:
    """``qid docid [more numeric columns]`` rows; ids normalised by ``int()`` as the loaders do."""
    rows = []
    for n, line in enumerate(src.lines, start=1):
        cols = line.split()
        if not cols:
            raise src.error(n, "blank line in a qrels file")
        if len(cols) != columns:
            raise src.error(n, f"expected {columns} columns, got {len(cols)}: {line.strip()[:60]!r}")
        if not (_NUMBER.fullmatch(cols[0]) and _NUMBER.fullmatch(cols[1])):
            raise src.error(n, f"query and document ids must be numbers, got {cols[0][:20]!r} {cols[1][:20]!r}")
        label = 1
        if grades is not None:
            if not _INTEGER.fullmatch(cols[2]):
                raise src.error(n, f"relevance grade {cols[2][:20]!r} is not an integer")
            label = int(cols[2])
            if label not in grades:
                raise src.error(n, f"relevance grade {label} is not one of {sorted(grades)}")
        else:
            for extra in cols[2:]:
                try:
                    value = float(extra) if len(extra) <= 40 else float("nan")
                except ValueError:
                    raise src.error(n, f"column value {extra[:20]!r} is not a number") from None
                if value < 0 or value != value:
                    raise src.error(n, f"column value {extra!r} is negative or not a number")
        qid = cols[0] if grades is not None else str(int(cols[0]))
        docno = cols[1] if grades is not None else str(int(cols[1]))
        rows.append((n, qid, docno, label))
    return rows


# --- collections -----------------------------------------------------------------------------------------


def _sources(collection: str, seed: Path, files: Iterable[str], chk: SourceCheck) -> list[_Source]:
    out = []
    for rel in files:
        data = _read(seed / rel, collection)
        _note_modified(chk, rel, str(seed / rel), data)
        out.append(_Source(collection, rel, str(seed / rel), data, chk))
    return out


def _check_smart(collection: str, seed: Path, files: tuple[str, ...]) -> SourceCheck:
    chk = SourceCheck(collection)
    d_src, q_src, r_src = _sources(collection, seed, files, chk)
    docs = _check_docs(d_src, _smart(d_src, "docs"))
    raw_queries = _smart(q_src, "queries")
    if collection == "cranfield":
        queries = _check_queries(q_src, _cranfield_query_order(q_src, raw_queries))
        rows = _whitespace_qrels(r_src, 3, {-1, 1, 2, 3, 4})
        chk.counts["grade_minus_1"] = sum(1 for r in rows if r[3] == -1)
    else:
        queries = _check_queries(q_src, [(ln, str(int(q)), t) for ln, q, t in raw_queries])
        rows = _whitespace_qrels(r_src, 4, None)
    _cross(r_src, rows, docs, queries)
    chk.counts["unjudged_queries"] = len(queries) - chk.counts["judged_queries"]
    return chk


def _check_vaswani(seed: Path, files: tuple[str, ...]) -> SourceCheck:
    chk = SourceCheck("vaswani")
    d_src, q_src, r_src = _sources("vaswani", seed, files, chk)
    docs = _check_docs(d_src, [(ln, d, "\n".join(body)) for ln, d, body in d_src.parse(parse_trec_docs)])
    topics = q_src.parse(parse_trec_topics)
    for line, qid, text in topics:
        if text == "/":
            raise q_src.error(line, f"query {qid!r} is only '/' (the NPL end-of-query mark)")
    queries = _check_queries(q_src, topics)
    rows = r_src.parse(parse_trec_qrels)
    _cross(r_src, rows, docs, queries)
    chk.counts["zero_labels"] = sum(1 for r in rows if r[3] == 0)
    chk.counts["unjudged_queries"] = len(queries) - chk.counts["judged_queries"]
    return chk


#: what reading a damaged zip archive can raise
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, struct.error, EOFError, OSError, ValueError,
               RuntimeError, NotImplementedError, OverflowError)  # fmt: skip

#: BEIR collections: zip member prefix, qrels splits, document and query metadata fields the loaders read
BEIR_LAYOUT = {
    "beir/scifact": ("scifact", ("train", "test"), (), ()),
    "beir/nfcorpus": ("nfcorpus", ("train", "dev", "test"), ("url",), ("url",)),
}


def _jsonl(src: _Source, kind: str, meta: tuple[str, ...]) -> list[tuple[int, str, str]]:
    out = []
    for n, line in enumerate(src.lines, start=1):
        if not line.strip():
            raise src.error(n, "blank line in a JSON-lines file")
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise src.error(n, f"invalid JSON ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            raise src.error(n, "invalid JSON (nested too deeply)") from None
        if not isinstance(obj, dict):
            raise src.error(n, f"expected a JSON object, got {type(obj).__name__}")
        wanted = ("_id", "title", "text") if kind == "documents" else ("_id", "text")
        for key in wanted:
            if not isinstance(obj.get(key), str):
                raise src.error(n, f"field {key!r} is missing or not a string")
        for key in meta:
            if not isinstance(obj.get("metadata"), dict) or key not in obj["metadata"]:
                raise src.error(n, f"field 'metadata.{key}' is missing")
        if not obj["_id"].strip() or obj["_id"] != obj["_id"].strip():
            raise src.error(n, f"invalid id {obj['_id']!r}")
        text = f"{obj.get('title', '')} {obj['text']}" if kind == "documents" else obj["text"]
        out.append((n, obj["_id"], text))
    return out


def _beir_qrels(src: _Source) -> list[tuple[int, str, str, int]]:
    if not src.lines or src.lines[0].strip() != "query-id\tcorpus-id\tscore":
        raise src.error(1, "expected the header 'query-id<TAB>corpus-id<TAB>score'")
    rows = []
    for n, line in enumerate(src.lines[1:], start=2):
        cols = line.split()
        if len(cols) != 3:
            raise src.error(n, f"expected 3 columns 'query-id corpus-id score', got {len(cols)}: {line.strip()[:60]!r}")
        if not _INTEGER.fullmatch(cols[2]):
            raise src.error(n, f"score {cols[2][:20]!r} is not an integer")
        if int(cols[2]) < 0:
            raise src.error(n, f"negative score {cols[2]}")
        rows.append((n, cols[0], cols[1], int(cols[2])))
    return rows


def _check_beir(collection: str, seed: Path, files: tuple[str, ...]) -> SourceCheck:
    chk = SourceCheck(collection)
    prefix, splits, doc_meta, query_meta = BEIR_LAYOUT[collection]
    path = seed / files[0]
    data = _read(path, collection)
    _note_modified(chk, files[0], str(path), data)
    where = f"dataset {collection}: {path}"
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as exc:
        raise DataError(f"not a readable zip archive ({exc}): the file is truncated or damaged", where=where) from None

    def member(name: str) -> _Source:
        label = f"{prefix}/{name}"
        try:
            info = archive.getinfo(label)
        except KeyError:
            raise DataError(f"the archive has no member {label!r} (an incomplete or damaged archive)",
                            where=where) from None  # fmt: skip
        if info.file_size > MAX_SOURCE_BYTES:
            raise DataError(f"member {label!r} is {info.file_size:,} bytes, over the {MAX_SOURCE_BYTES:,}-byte limit",
                            where=where)  # fmt: skip
        try:
            with archive.open(label) as fh:  # read at most the limit, whatever the header claims (zip bombs)
                body = fh.read(MAX_SOURCE_BYTES + 1)
        except _ZIP_ERRORS as exc:
            raise DataError(f"member {label!r} cannot be read ({exc}): the archive is damaged", where=where) from None
        if len(body) > MAX_SOURCE_BYTES:
            raise DataError(f"member {label!r} is over the {MAX_SOURCE_BYTES:,}-byte limit", where=where)
        return _Source(collection, label, f"{path} member {label}", body, chk)

    c_src = member("corpus.jsonl")
    docs = _check_docs(c_src, _jsonl(c_src, "documents", doc_meta))
    q_src = member("queries.jsonl")
    queries = _check_queries(q_src, _jsonl(q_src, "queries", query_meta))
    judged: set[str] = set()
    for split in splits:
        r_src = member(f"qrels/{split}.tsv")
        rows = _beir_qrels(r_src)
        _cross(r_src, rows, docs, queries)
        judged |= {r[1] for r in rows}
        chk.counts[f"judgements_{split}"] = len(rows)
    chk.counts["judged_queries"] = len(judged)
    chk.counts["unjudged_queries"] = len(queries) - len(judged)
    return chk


def check_collection(collection: str, seed: Path, files: tuple[str, ...]) -> SourceCheck:
    """Check a staged collection's source files (see the module docstring); :class:`DataError` on any corruption.

    Args:
        collection: the collection's id (``cisi``, ``beir/scifact``).
        seed: the staged data directory.
        files: the collection's source files, relative to ``seed`` (its seeding recipe's ``sources``).

    Example:
        >>> from irrobust import paths
        >>> check_collection("cisi", paths.seed_dir(), ("cisi/CISI.ALL", "cisi/CISI.QRY", "cisi/CISI.REL"))  # doctest: +SKIP
    """
    if collection in SMART_LAYOUT:
        return _check_smart(collection, seed, files)
    if collection == "vaswani":
        return _check_vaswani(seed, files)
    if collection in BEIR_LAYOUT:
        return _check_beir(collection, seed, files)
    raise DataError(f"no source check for collection {collection!r}", where=collection)
