"""Lucene indexes built with pyserini, under ``indexes/<collection>/lucene``.

Documents are indexed as ``contents = title + " " + text`` (Pyserini's BEIR "flat" setting),
with positions, stored document vectors and raw text (later stages read them). The build runs
``python -m pyserini.index.lucene`` in a child process into a temporary directory that is renamed
into place only when complete, so a killed build leaves no half index; a ``manifest.json`` records
the collection checksum, document count and settings, and the index is reused while they match.

Example:
    >>> idx = lucene_index("beir/scifact")          # doctest: +SKIP
    >>> idx.manifest["doc_count"]                   # doctest: +SKIP
    5183
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from irrobust import paths
from irrobust.data.dataset import Dataset, dataset
from irrobust.errors import IrrobustError, ModelError
from irrobust.index.manifest import manifest_matches, read_manifest, write_manifest
from irrobust.util.io import atomic_dir, build_lock

INDEX_SETTINGS: dict[str, Any] = {
    "format": 2,
    "collection": "JsonCollection",
    "generator": "DefaultLuceneDocumentGenerator",
    "fields": "title+text",
    "storePositions": True,
    "storeDocvectors": True,
    "storeRaw": True,
    "analyzer": "default (English, Porter stemmer, Lucene stopwords)",
}


@dataclass
class LuceneIndex:
    """A built Lucene index and its manifest; hands out pyserini searchers and readers.

    Example:
        >>> idx = lucene_index("cranfield")     # doctest: +SKIP
        >>> idx.reader().stats()["documents"]   # doctest: +SKIP
        1400
    """

    path: Path
    collection: str
    manifest: dict[str, Any] = field(repr=False)

    def searcher(self):
        """A new ``pyserini.search.lucene.LuceneSearcher`` (each stage gets its own: settings are per searcher).

        Example:
            >>> lucene_index("cranfield").searcher().num_docs  # doctest: +SKIP
            1400
        """
        from pyserini.search.lucene import LuceneSearcher

        return LuceneSearcher(str(self.path))

    @cached_property
    def _reader(self):
        from pyserini.index.lucene import IndexReader

        return IndexReader(str(self.path))

    def reader(self):
        """The (shared) ``pyserini.index.lucene.IndexReader`` for term statistics and document vectors.

        Example:
            >>> lucene_index("cranfield").reader().stats()["documents"]  # doctest: +SKIP
            1400
        """
        return self._reader


def _write_collection(ds: Dataset, directory: Path, progress: bool) -> tuple[int, list[str]]:
    """Export ``id, contents`` JSON lines; return the number written and the ids of empty documents.

    Lucene (Anserini) skips documents without text, so they are not written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    n, empty = 0, []
    with open(directory / "docs.jsonl", "w", encoding="utf-8") as fh:
        for docno, text in tqdm(ds.docs.iter(), desc=f"export {ds.collection}", disable=not progress, unit="doc"):
            if not text.strip():
                empty.append(docno)
                continue
            fh.write(json.dumps({"id": docno, "contents": text}) + "\n")
            n += 1
    if n == 0:
        raise IrrobustError("the collection has no documents with text", where=ds.collection)
    return n, empty


def build_lucene_index(ds: Dataset, dest: Path, threads: int = 1, progress: bool = True) -> dict[str, Any]:
    """Build the index for ``ds`` into ``dest`` atomically; return the manifest written.

    Example:
        >>> build_lucene_index(dataset("cranfield"), Path("/tmp/idx"))  # doctest: +SKIP
    """
    started = time.time()
    scratch_root = paths.indexes_dir() / ".scratch"
    scratch_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch_root) as scratch, atomic_dir(dest) as tmp:
        n_docs, empty = _write_collection(ds, Path(scratch) / "collection", progress)
        cmd = [
            sys.executable, "-m", "pyserini.index.lucene",
            "--collection", INDEX_SETTINGS["collection"], "--generator", INDEX_SETTINGS["generator"],
            "--input", str(Path(scratch) / "collection"), "--index", str(tmp), "--threads", str(threads),
            "--storePositions", "--storeDocvectors", "--storeRaw",
        ]  # fmt: skip
        log = Path(scratch) / "index.log"
        if progress:
            print(f"irrobust: indexing {n_docs} documents of {ds.collection} with Lucene ...", file=sys.stderr)
        with open(log, "w") as fh:
            proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ}, check=False)
        if proc.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:]
            raise ModelError(f"Lucene indexing failed (exit {proc.returncode}):\n{tail}", where=str(dest))
        manifest = {
            "kind": "lucene",
            "collection": ds.collection,
            "docs_checksum": ds.docs_checksum,
            "doc_count": n_docs,
            "empty_documents_skipped": empty,
            "settings": INDEX_SETTINGS,
            "pyserini": _version("pyserini"),
            "build_seconds": round(time.time() - started, 2),
        }
        write_manifest(tmp, manifest)
    return manifest


def _version(pkg: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(pkg)
    except PackageNotFoundError:
        return "unknown"


def lucene_index(source: str | Dataset, rebuild: bool = False, progress: bool = True) -> LuceneIndex:
    """The Lucene index of a collection, built on first use and reused while its manifest is valid.

    ``source`` is a dataset (or dataset ID); its collection is indexed (all splits share it).

    Example:
        >>> idx = lucene_index("beir/scifact/test")   # doctest: +SKIP
        >>> idx.path.parts[-3:]                        # doctest: +SKIP
        ('beir', 'scifact', 'lucene')
    """
    ds = dataset(source) if isinstance(source, str) else source
    dest = paths.indexes_dir() / ds.collection / "lucene"
    expected = {
        "kind": "lucene",
        "collection": ds.collection,
        "docs_checksum": ds.docs_checksum,
        "settings": INDEX_SETTINGS,
    }
    if rebuild or not manifest_matches(dest, expected):
        with build_lock(dest):  # a concurrent run may be building it: wait, then reuse
            if rebuild or not manifest_matches(dest, expected):
                build_lucene_index(ds, dest, progress=progress)
    manifest = read_manifest(dest)
    if manifest is None:  # pragma: no cover - atomic rename guarantees it
        raise ModelError("index has no manifest", where=str(dest))
    return LuceneIndex(dest, ds.collection, manifest)
