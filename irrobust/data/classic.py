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


def trec_docs_to_npl(trec_text: str) -> str:
    """Convert TREC ``<DOC><DOCNO>`` documents (Terrier's Vaswani copy) to the NPL layout.

    Example:
        >>> trec_docs_to_npl("<DOC>\\n<DOCNO>3</DOCNO>\\nsome words\\n</DOC>\\n")
        '3\\nsome words\\n   /\\n'
    """
    out = []
    for m in re.finditer(r"<DOC>\s*<DOCNO>\s*(.*?)\s*</DOCNO>(.*?)</DOC>", trec_text, flags=re.S):
        out.append(f"{m.group(1)}\n{m.group(2).strip()}\n   /\n")
    return "".join(out)


def trec_topics_to_npl(trec_text: str) -> str:
    """Convert TREC ``<top><num>..<title>`` topics to NPL query-text layout.

    Example:
        >>> trec_topics_to_npl("<top>\\n<num>1</num><title>\\nA B\\n</title>\\n</top>")
        '1\\nA B\\n/\\n'
    """
    out = []
    for m in re.finditer(r"<num>\s*(.*?)\s*</num>\s*<title>(.*?)</title>", trec_text, flags=re.S):
        out.append(f"{m.group(1)}\n{' '.join(m.group(2).split())}\n/\n")
    return "".join(out)


def trec_qrels_to_npl(trec_text: str) -> str:
    """Convert 4-column TREC qrels (binary) to the NPL ``rlv-ass`` layout.

    Example:
        >>> trec_qrels_to_npl("1 0 5 1\\n1 0 9 1\\n2 0 4 0\\n")
        '1\\n5 9\\n   /\\n'
    """
    by_q: dict[str, list[str]] = {}
    for line in trec_text.splitlines():
        cols = line.split()
        if len(cols) == 4 and int(cols[3]) > 0:
            by_q.setdefault(cols[0], []).append(cols[2])
    return "".join(f"{q}\n{' '.join(d)}\n   /\n" for q, d in by_q.items())
