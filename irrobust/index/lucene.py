"""Lucene indexes built with pyserini, under ``indexes/<collection>/lucene``.

Documents are indexed as ``contents = title + " " + text`` (Pyserini's BEIR "flat" setting),
with positions, stored document vectors and raw text (later stages read them). The build runs
``python -m pyserini.index.lucene`` in a child process into a temporary directory that is renamed
into place only when complete, so a killed build leaves no half index; a ``manifest.json`` records
the collection checksum, document count and settings, and the index is reused while they match.

The exported collection lives in a scratch folder ``indexes/.scratch/tmp*`` that holds an ``fcntl``
lock while in use; it is removed when the build ends, and a folder leaked by a killed build (its lock
died with its process) is removed by the next build. The indexer child process is tied to its parent
(Linux ``PR_SET_PDEATHSIG``): if the parent dies, even by ``SIGKILL``, the child is killed at once, so
it never keeps writing into a directory that a rerun replaces.

Example:
    >>> idx = lucene_index("beir/scifact")          # doctest: +SKIP
    >>> idx.manifest["doc_count"]                   # doctest: +SKIP
    5183
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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


#: seconds after which a scratch folder without a lock file (from an older irrobust) counts as leaked
_UNLOCKED_SCRATCH_AGE = 3600.0
_IN_USE = ".in-use"

#: the indexer child: dies with its parent (PR_SET_PDEATHSIG), then runs ``python -m pyserini.index.lucene ARGS``
_CHILD = """
import ctypes, os, runpy, signal, sys
parent = int(sys.argv[1])
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
if os.getppid() != parent:  # the parent died before the death signal was armed
    os._exit(1)
sys.argv = ["pyserini.index.lucene", *sys.argv[2:]]
runpy.run_module("pyserini.index.lucene", run_name="__main__", alter_sys=True)
"""


def sweep_scratch(root: Path) -> list[Path]:
    """Remove scratch folders under ``root`` that no live build holds; return the ones removed.

    A folder is in use while its ``.in-use`` file is locked (``fcntl.flock``) by the build that made it; a killed
    build's lock is gone, so its folder is removed. A folder without that file (made by an older irrobust) is
    removed once it is an hour old.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp()); (root / "tmpx").mkdir(); _ = (root / "tmpx" / ".in-use").write_text("")
        >>> [p.name for p in sweep_scratch(root)]
        ['tmpx']
    """
    import fcntl

    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for folder in sorted(root.iterdir()):
        if not folder.name.startswith("tmp") or folder.is_symlink() or not folder.is_dir():
            continue
        marker = folder / _IN_USE
        if not marker.is_file():
            with contextlib.suppress(OSError):
                if time.time() - folder.stat().st_mtime > _UNLOCKED_SCRATCH_AGE:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed.append(folder)
            continue
        try:
            fh = open(marker)  # noqa: SIM115
        except OSError:
            continue
        with fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a live build
                continue
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    """A private scratch folder under ``indexes/.scratch``, locked while in use and removed afterwards.

    Leaked folders of killed builds are swept first (:func:`sweep_scratch`).

    Example:
        >>> with scratch_dir() as d:   # doctest: +SKIP
        ...     d.is_dir()
        True
    """
    import fcntl

    root = paths.indexes_dir() / ".scratch"
    root.mkdir(parents=True, exist_ok=True)
    sweep_scratch(root)
    folder = Path(tempfile.mkdtemp(prefix="tmp", dir=root))
    fh = open(folder / _IN_USE, "w")  # noqa: SIM115  (held for the whole build)
    try:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        fh.close()


def indexer_command(args: list[str]) -> list[str]:
    """The command line of the indexer child: ``pyserini.index.lucene`` with ``args``, killed if this process dies.

    Example:
        >>> indexer_command(["--threads", "1"])[-2:]
        ['--threads', '1']
    """
    return [sys.executable, "-c", _CHILD, str(os.getpid()), *args]


def build_lucene_index(ds: Dataset, dest: Path, threads: int = 1, progress: bool = True) -> dict[str, Any]:
    """Build the index for ``ds`` into ``dest`` atomically; return the manifest written.

    Example:
        >>> build_lucene_index(dataset("cranfield"), Path("/tmp/idx"))  # doctest: +SKIP
    """
    started = time.time()
    with scratch_dir() as scratch, atomic_dir(dest) as tmp:
        n_docs, empty = _write_collection(ds, scratch / "collection", progress)
        cmd = indexer_command([
            "--collection", INDEX_SETTINGS["collection"], "--generator", INDEX_SETTINGS["generator"],
            "--input", str(scratch / "collection"), "--index", str(tmp), "--threads", str(threads),
            "--storePositions", "--storeDocvectors", "--storeRaw",
        ])  # fmt: skip
        log = scratch / "index.log"
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
