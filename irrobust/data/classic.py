"""Classic test collections in SMART / TREC formats: parsers and ir_datasets registration.

ir_datasets ships ``cranfield`` and ``vaswani`` (its own IDs are used for them); CACM and CISI are
registered here as ``cacm`` and ``cisi`` with the same lazy, cached machinery. Quirks handled:

* Cranfield: ``cran.qry`` numbers queries with its own ids (1, 2, 4, 8, ...); the qrels use
  1..225 in file order (ir_datasets already maps this). Grades run 1 (complete answer) to 4
  (minimum interest), the reverse of TREC gains, plus unexplained ``-1`` rows: see
  :func:`cranfield_gain`.
* CACM: zero-padded query ids in ``qrels.text`` ("01" → "1").
* CISI: CRLF line ends; queries with ``.T/.A/.B`` metadata use only their ``.W`` text.
* Vaswani: the staged copy is Terrier's TREC conversion; seeding converts it back to the NPL layout
  ir_datasets reads (see :mod:`irrobust.data.seed`).

Example:
    >>> recs = list(parse_smart([".I 1", ".T", "A title", ".W", "some text", ".I 2", ".W", "more"]))
    >>> recs[0]["I"], recs[0]["T"], recs[1]["W"]
    ('1', 'A title', 'more')
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import ir_datasets
from ir_datasets.datasets.base import Dataset as IrdsDataset
from ir_datasets.formats import BaseDocs, BaseQrels, BaseQueries, GenericQuery, TrecQrel
from ir_datasets.indices import DEFAULT_DOCSTORE_OPTIONS, PickleLz4FullStore
from ir_datasets.util import Cache, RequestsDownload, TarExtract

_FIELD = re.compile(r"^\.([A-Z])(?:\s+(.*))?$")


def parse_smart(lines: Iterable[str]) -> Iterator[dict[str, str]]:
    """Parse SMART-format records (``.I id`` then ``.X`` field markers) into dicts of field → text.

    Example:
        >>> next(parse_smart([".I 7", ".W", " hello ", "world"]))
        {'I': '7', 'W': 'hello world'}
    """
    record: dict[str, list[str]] | None = None
    field = ""
    for raw in lines:
        line = raw.rstrip("\r\n")
        m = _FIELD.match(line)
        if m and m.group(1) == "I":
            if record is not None:
                yield _finish(record)
            record = {"I": [(m.group(2) or "").strip()]}
            field = "I"
        elif m and (m.group(2) is None or not m.group(2).strip()) and record is not None:
            field = m.group(1)
            record.setdefault(field, [])
        elif record is not None:
            record.setdefault(field, []).append(line.strip())
    if record is not None:
        yield _finish(record)


def _finish(record: dict[str, list[str]]) -> dict[str, str]:
    return {k: " ".join(x for x in v if x) for k, v in record.items()}


def cranfield_gain(grade: int) -> int:
    """TREC-style gain for a Cranfield relevance code: 1→4 (complete answer) ... 4→1; -1 and others → 0.

    Example:
        >>> [cranfield_gain(g) for g in (1, 2, 3, 4, -1)]
        [4, 3, 2, 1, 0]
    """
    return 5 - grade if 1 <= grade <= 4 else 0


class SmartDoc(NamedTuple):
    """A SMART-collection document (title and abstract)."""

    doc_id: str
    title: str
    text: str

    def default_text(self) -> str:
        """Title and text joined by a space.

        Example:
            >>> SmartDoc("1", "T", "body").default_text()
            'T body'
        """
        return f"{self.title} {self.text}".strip()


class SmartDocs(BaseDocs):
    """ir_datasets docs handler for SMART ``.I/.T/.W`` files, with an lz4 docstore."""

    def __init__(self, name: str, dlc) -> None:
        super().__init__()
        self._name, self._dlc = name, dlc

    def docs_path(self, force: bool = True):
        return self._dlc.path(force)

    @ir_datasets.util.use_docstore
    def docs_iter(self):
        with self._dlc.stream() as stream:
            for rec in parse_smart(io.TextIOWrapper(stream, encoding="utf-8", errors="replace")):
                yield SmartDoc(rec["I"], rec.get("T", ""), rec.get("W", ""))

    def docs_cls(self):
        return SmartDoc

    def docs_store(self, field: str = "doc_id", options=DEFAULT_DOCSTORE_OPTIONS):
        return PickleLz4FullStore(
            path=f"{ir_datasets.util.home_path() / self._name}/docs.pklz4",
            init_iter_fn=self.docs_iter,
            data_cls=self.docs_cls(),
            lookup_field=field,
            index_fields=["doc_id"],
            options=options,
        )

    def docs_count(self):
        if self.docs_store().built():
            return self.docs_store().count()
        return None

    def docs_namespace(self):
        return self._name

    def docs_lang(self):
        return "en"


class SmartQueries(BaseQueries):
    """ir_datasets queries handler for SMART query files (text from ``.W``)."""

    def __init__(self, name: str, dlc) -> None:
        super().__init__()
        self._name, self._dlc = name, dlc

    def queries_iter(self):
        with self._dlc.stream() as stream:
            for rec in parse_smart(io.TextIOWrapper(stream, encoding="utf-8", errors="replace")):
                yield GenericQuery(str(int(rec["I"])), rec.get("W", ""))

    def queries_cls(self):
        return GenericQuery

    def queries_namespace(self):
        return self._name

    def queries_lang(self):
        return "en"


class WhitespaceQrels(BaseQrels):
    """Qrels as whitespace-separated ``qid docid ...`` rows (CACM ``qrels.text``, CISI ``CISI.REL``).

    Every listed pair is relevant (label 1); query ids are normalised by ``int()`` ("01" → "1").
    """

    def __init__(self, dlc) -> None:
        self._dlc = dlc

    def qrels_iter(self):
        with self._dlc.stream() as stream:
            for lineno, line in enumerate(io.TextIOWrapper(stream, encoding="utf-8"), start=1):
                cols = line.split()
                if not cols:
                    continue
                if len(cols) < 2 or not cols[0].isdigit() or not cols[1].isdigit():
                    raise ValueError(f"line {lineno}: expected 'qid docid ...', got {line.strip()!r}")
                yield TrecQrel(str(int(cols[0])), str(int(cols[1])), 1, "0")

    def qrels_cls(self):
        return TrecQrel

    def qrels_defs(self):
        return {1: "relevant"}


_GLASGOW = "http://ir.dcs.gla.ac.uk/resources/test_collections"
#: name -> (download url, member names for docs, queries, qrels)
SMART_COLLECTIONS: dict[str, tuple[str, tuple[str, str, str]]] = {
    "cacm": (f"{_GLASGOW}/cacm/cacm.tar.gz", ("cacm.all", "query.text", "qrels.text")),
    "cisi": (f"{_GLASGOW}/cisi/cisi.tar.gz", ("CISI.ALL", "CISI.QRY", "CISI.REL")),
}


def register_smart_collections() -> None:
    """Register ``cacm`` and ``cisi`` with ir_datasets (idempotent).

    Files are read from ``$IR_DATASETS_HOME/<name>/{docs,queries,qrels}.txt`` (seeded from the
    staged data) and otherwise extracted from the Glasgow tarball on first use.

    Example:
        >>> register_smart_collections(); "cacm" in ir_datasets.registry
        True
    """
    for name, (url, (docs_f, queries_f, qrels_f)) in SMART_COLLECTIONS.items():
        if name in ir_datasets.registry:
            continue
        base = ir_datasets.util.home_path() / name
        dl = RequestsDownload(url)
        ds = IrdsDataset(
            SmartDocs(name, Cache(TarExtract(dl, docs_f), base / "docs.txt")),
            SmartQueries(name, Cache(TarExtract(dl, queries_f), base / "queries.txt")),
            WhitespaceQrels(Cache(TarExtract(dl, qrels_f), base / "qrels.txt")),
        )
        ir_datasets.registry.register(name, ds)


class FormatError(ValueError):
    """A malformed line in a collection file; ``line`` is 1-based (the checker turns it into a located DataError).

    Example:
        >>> str(FormatError(3, "no closing </DOC>"))
        'line 3: no closing </DOC>'
    """

    def __init__(self, line: int, message: str) -> None:
        self.line, self.message = line, message
        super().__init__(f"line {line}: {message}")


class SmartRecord(NamedTuple):
    """One ``.I`` record of a SMART file: its id, the line of its ``.I`` marker, and field → text lines."""

    id: str
    line: int
    fields: dict[str, list[str]]

    def text(self, *names: str) -> str:
        """The named fields' text, whitespace-normalised and joined (empty when absent).

        Example:
            >>> SmartRecord("1", 1, {"T": ["a  b"], "W": ["c"]}).text("T", "W")
            'a b c'
        """
        return " ".join(" ".join(line for n in names for line in self.fields.get(n, ())).split())


_MARKER_LIKE = re.compile(r"^\.[A-Z]")
_MARKER = re.compile(r"^\.([A-Z])(?:[ \t]+(.*?))?[ \t]*$")


def scan_smart(lines: Iterable[str], allowed: str, required: str = "") -> list[SmartRecord]:
    """Strictly parse SMART records: every ``.I`` has a number, only ``allowed`` field markers, no stray text.

    Stricter than :func:`parse_smart` (which ir_datasets-style loading uses): anything these parsers
    would read differently from what the file means raises :class:`FormatError` naming the line.

    Example:
        >>> [r.id for r in scan_smart([".I 1", ".W", "text", ".I 2", ".W", "more"], allowed="W")]
        ['1', '2']
        >>> scan_smart([".I 1", ".Q", "x"], allowed="W")
        Traceback (most recent call last):
        ...
        irrobust.data.classic.FormatError: line 2: unknown field marker '.Q' (this file uses .W)
    """
    records: list[SmartRecord] = []
    current: SmartRecord | None = None
    field: str | None = None
    n = 0
    for n, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if field is not None and not line.startswith("."):  # the common case: a text line of a field
            current.fields[field].append(line)  # type: ignore[union-attr]
            continue
        m = _MARKER.match(line)
        if m and m.group(1) == "I":
            ident = (m.group(2) or "").strip()
            if not re.fullmatch(r"[0-9]{1,18}", ident):
                raise FormatError(n, f"record marker {line!r} is not '.I <number>'")
            current, field = SmartRecord(ident, n, {}), None
            records.append(current)
            continue
        if m and m.group(2):
            raise FormatError(n, f"field marker '.{m.group(1)}' followed by text {m.group(2)[:40]!r}")
        if m:
            if m.group(1) not in allowed:
                markers = ", ".join(f".{c}" for c in allowed)
                raise FormatError(n, f"unknown field marker '.{m.group(1)}' (this file uses {markers})")
            if current is None:
                raise FormatError(n, f"field marker '.{m.group(1)}' before the first '.I' record")
            field = m.group(1)
            current.fields.setdefault(field, [])
            continue
        if _MARKER_LIKE.match(line):
            raise FormatError(n, f"line {line[:40]!r} starts like a field marker but is none")
        if current is None:
            if line.strip():
                raise FormatError(n, "text before the first '.I' record (is the start of the file missing?)")
            continue
        if field is None:
            if line.strip():
                raise FormatError(n, f"text after '.I {current.id}' before any field marker")
            continue
        current.fields[field].append(line)
    if not records:
        raise FormatError(max(n, 1), "no '.I' records: the file is empty, truncated or not in SMART format")
    for rec in records:
        missing = [f".{c}" for c in required if c not in rec.fields]
        if missing:
            raise FormatError(rec.line, f"record '.I {rec.id}' has no {', '.join(missing)} field "
                                        "(the file is truncated or the record is damaged)")  # fmt: skip
    return records


def parse_trec_docs(lines: Iterable[str]) -> list[tuple[int, str, list[str]]]:
    """Strictly parse TREC ``<DOC>/<DOCNO>/text/</DOC>`` documents into ``(line, docno, text lines)``.

    Example:
        >>> parse_trec_docs(["<DOC>", "<DOCNO>3</DOCNO>", "some words", "</DOC>"])
        [(1, '3', ['some words'])]
    """
    docs: list[tuple[int, str, list[str]]] = []
    open_at, docno, body = 0, "", []
    n = 0
    for n, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        tag = line.strip()
        if open_at:
            if docno == "":
                m = re.fullmatch(r"<DOCNO>\s*(\S+?)\s*</DOCNO>", tag)
                if not m:
                    raise FormatError(n, f"expected '<DOCNO>id</DOCNO>' after <DOC>, got {line[:40]!r}")
                docno = m.group(1)
            elif tag == "</DOC>":
                docs.append((open_at, docno, body))
                open_at = 0
            elif tag == "<DOC>" or tag.startswith("<DOCNO>"):
                raise FormatError(n, f"document {docno!r} (opened at line {open_at}) has no closing </DOC>")
            elif line == "   /":
                raise FormatError(n, "a text line holding only '   /' (the NPL end-of-document mark)")
            else:
                body.append(line)
        elif tag == "<DOC>":
            open_at, docno, body = n, "", []
        elif tag:
            raise FormatError(n, f"text outside a <DOC> ... </DOC> block: {line[:40]!r}")
    if open_at:
        raise FormatError(n, f"document {docno!r} (opened at line {open_at}) has no closing </DOC> (file truncated?)")
    return docs


_TOP = re.compile(r"<num>\s*([0-9]+)\s*</num>\s*<title>(.*)$")


def parse_trec_topics(lines: Iterable[str]) -> list[tuple[int, str, str]]:
    """Strictly parse TREC ``<top><num>N</num><title>...</title></top>`` topics into ``(line, qid, title)``.

    Example:
        >>> parse_trec_topics(["<top>", "<num>1</num><title>", "A  B", "</title>", "</top>"])
        [(1, '1', 'A B')]
    """
    topics: list[tuple[int, str, str]] = []
    state, start, qid, title = "out", 0, "", []
    n = 0
    for n, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        tag = line.strip()
        if state == "out":
            if tag == "<top>":
                state, start = "num", n
            elif tag:
                raise FormatError(n, f"text outside a <top> ... </top> block: {line[:40]!r}")
        elif state == "num":
            m = _TOP.fullmatch(tag)
            if not m:
                raise FormatError(n, f"expected '<num>N</num><title>' after <top>, got {line[:40]!r}")
            qid, title, state = m.group(1), [m.group(2)], "title"
            if "</title>" in m.group(2):
                title, state = [m.group(2).split("</title>", 1)[0]], "close"
        elif state == "title":
            if any(t in tag for t in ("<top>", "<num>", "</top>", "<title>")):
                raise FormatError(n, f"topic {qid} (opened at line {start}) has no closing </title>")
            if "</title>" in tag:
                title.append(line.split("</title>", 1)[0])
                state = "close"
            else:
                title.append(line)
        elif tag:  # state == "close"
            if tag != "</top>":
                raise FormatError(n, f"topic {qid} (opened at line {start}) has no closing </top>")
            topics.append((start, qid, " ".join(" ".join(title).split())))
            state = "out"
    if state != "out":
        raise FormatError(n, f"topic {qid or '?'} (opened at line {start}) is not closed (file truncated?)")
    return topics


def parse_trec_qrels(lines: Iterable[str]) -> list[tuple[int, str, str, int]]:
    """Strictly parse 4-column TREC qrels ``qid iter docno label`` into ``(line, qid, docno, label)``.

    Labels must be integers >= 0.

    Example:
        >>> parse_trec_qrels(["1 0 5 1", "1 0 9 0"])
        [(1, '1', '5', 1), (2, '1', '9', 0)]
    """
    rows: list[tuple[int, str, str, int]] = []
    for n, raw in enumerate(lines, start=1):
        cols = raw.split()
        if not cols:
            raise FormatError(n, "blank line in a qrels file")
        if len(cols) != 4:
            raise FormatError(
                n, f"expected 4 columns 'qid iteration docno label', got {len(cols)}: {raw.strip()[:60]!r}"
            )
        if not re.fullmatch(r"-?[0-9]{1,18}", cols[3]):
            raise FormatError(n, f"relevance label {cols[3]!r} is not an integer")
        label = int(cols[3])
        if label < 0:
            raise FormatError(n, f"negative relevance label {label}")
        rows.append((n, cols[0], cols[2], label))
    return rows


def _lines(text: str) -> list[str]:
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")


def trec_docs_to_npl(trec_text: str) -> str:
    """Convert TREC ``<DOC><DOCNO>`` documents (Terrier's Vaswani copy) to the NPL layout.

    Raises :class:`FormatError` on a malformed file (see :func:`parse_trec_docs`).

    Example:
        >>> trec_docs_to_npl("<DOC>\\n<DOCNO>3</DOCNO>\\nsome words\\n</DOC>\\n")
        '3\\nsome words\\n   /\\n'
    """
    return "".join(
        f"{docno}\n{chr(10).join(body).strip()}\n   /\n" for _, docno, body in parse_trec_docs(_lines(trec_text))
    )


def trec_topics_to_npl(trec_text: str) -> str:
    """Convert TREC ``<top><num>..<title>`` topics to NPL query-text layout.

    Example:
        >>> trec_topics_to_npl("<top>\\n<num>1</num><title>\\nA B\\n</title>\\n</top>")
        '1\\nA B\\n/\\n'
    """
    return "".join(f"{qid}\n{title}\n/\n" for _, qid, title in parse_trec_topics(_lines(trec_text)))


def trec_qrels_to_npl(trec_text: str) -> str:
    """Convert 4-column TREC qrels (binary) to the NPL ``rlv-ass`` layout (label 0 rows are left out).

    Example:
        >>> trec_qrels_to_npl("1 0 5 1\\n1 0 9 1\\n2 0 4 0\\n")
        '1\\n5 9\\n   /\\n'
    """
    by_q: dict[str, list[str]] = {}
    for _, qid, docno, label in parse_trec_qrels(_lines(trec_text)):
        if label > 0:
            by_q.setdefault(qid, []).append(docno)
    return "".join(f"{q}\n{' '.join(d)}\n   /\n" for q, d in by_q.items())
