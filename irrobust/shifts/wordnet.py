"""WordNet 3.0 for the synonym shift, read with NLTK from Debian's packaged dictionary.

Debian's ``wordnet-base`` installs the WordNet 3.0 database in ``/usr/share/wordnet`` and
``wordnet-sense-index`` adds ``index.sense``. NLTK's reader also wants a ``lexnames`` file
(the list of the 45 lexicographer files, documented in lexnames(5WN) but shipped by neither
package) and wants the files in an NLTK data directory. :func:`build_nltk_wordnet` copies the
Debian files to ``<irrobust home>/.cache/nltk_data/corpora/wordnet`` (never ``$HOME``) and writes
``lexnames``; :func:`load_wordnet` returns a reader over that directory.
``scripts/setup_wordnet.sh`` installs the packages (as root) and calls the builder.

Example:
    >>> len(LEXNAMES)
    45
    >>> LEXNAMES[3]
    ('noun.Tops', 1)
"""

from __future__ import annotations

import functools
import json
import shutil
import warnings
from pathlib import Path
from typing import Any

from irrobust import paths
from irrobust.errors import IrrobustError
from irrobust.util.io import atomic_dir, atomic_write_text

#: Where Debian's ``wordnet-base`` and ``wordnet-sense-index`` put the dictionary.
DEBIAN_WORDNET_DIR = Path("/usr/share/wordnet")

#: Files NLTK's WordNet reader opens, apart from ``lexnames`` (written by :func:`lexnames_text`).
WORDNET_FILES = (
    "cntlist.rev",
    "index.sense",
    "index.adj",
    "index.adv",
    "index.noun",
    "index.verb",
    "data.adj",
    "data.adv",
    "data.noun",
    "data.verb",
    "adj.exc",
    "adv.exc",
    "noun.exc",
    "verb.exc",
)

_NOUN_FILES = (
    "Tops act animal artifact attribute body cognition communication event feeling food group location motive "
    "object person phenomenon plant possession process quantity relation shape state substance time"
)
_VERB_FILES = (
    "body change cognition communication competition consumption contact creation emotion motion perception "
    "possession social stative weather"
)

#: The lexicographer files, numbered 00..44, with their syntactic category
#: (1 noun, 2 verb, 3 adjective, 4 adverb), as listed in lexnames(5WN) of WordNet 3.0.
LEXNAMES: tuple[tuple[str, int], ...] = (
    ("adj.all", 3),
    ("adj.pert", 3),
    ("adv.all", 4),
    *((f"noun.{n}", 1) for n in _NOUN_FILES.split()),
    *((f"verb.{n}", 2) for n in _VERB_FILES.split()),
    ("adj.ppl", 3),
)

_STAMP = "irrobust-wordnet.json"

INSTALL_HINT = (
    "install WordNet 3.0 with `sudo scripts/setup_wordnet.sh` "
    "(it runs `apt-get install wordnet-base wordnet-sense-index` and builds the NLTK data dir), "
    "or use Synonyms(source='counterfitted')"
)


def lexnames_text() -> str:
    """The ``lexnames`` file: 45 lines ``NN<TAB>name<TAB>category`` (format of lexnames(5WN)).

    Example:
        >>> lexnames_text().splitlines()[44]
        '44\\tadj.ppl\\t3'
    """
    return "".join(f"{i:02d}\t{name}\t{cat}\n" for i, (name, cat) in enumerate(LEXNAMES))


def nltk_data_dir() -> Path:
    """The NLTK data directory irrobust builds and reads: ``<home>/.cache/nltk_data``.

    Example:
        >>> nltk_data_dir().name
        'nltk_data'
    """
    return paths.home() / ".cache" / "nltk_data"


def _source_stamp(source: Path) -> dict[str, Any]:
    return {
        "source": str(source),
        "files": {f: (source / f).stat().st_size for f in WORDNET_FILES},
        "lexnames": lexnames_text(),
    }


def missing_wordnet_files(source: Path = DEBIAN_WORDNET_DIR) -> list[str]:
    """Names of the WordNet files that ``source`` lacks (empty when the dictionary is complete).

    Example:
        >>> import tempfile, pathlib
        >>> "index.sense" in missing_wordnet_files(pathlib.Path(tempfile.mkdtemp()))
        True
    """
    return [f for f in WORDNET_FILES if not (source / f).is_file()]


def build_nltk_wordnet(
    source: str | Path = DEBIAN_WORDNET_DIR, data_dir: str | Path | None = None, force: bool = False
) -> Path:
    """Copy the WordNet dictionary from ``source`` into an NLTK data dir and write ``lexnames``.

    Idempotent: an up-to-date build (same source file sizes, same lexnames) is left alone.
    The directory is built under a temporary name and renamed into place.

    Args:
        source: directory with the WordNet 3.0 database files (Debian: ``/usr/share/wordnet``).
        data_dir: the NLTK data dir; default :func:`nltk_data_dir`.
        force: rebuild even when up to date.

    Returns:
        ``<data_dir>/corpora/wordnet``.

    Raises:
        IrrobustError: when ``source`` lacks files (the packages are not installed).

    Example:
        >>> build_nltk_wordnet().name  # doctest: +SKIP
        'wordnet'
    """
    source = Path(source)
    missing = missing_wordnet_files(source)
    if missing:
        raise IrrobustError(
            f"WordNet 3.0 is not installed (missing {', '.join(missing)}); {INSTALL_HINT}", where=str(source)
        )
    target = Path(data_dir or nltk_data_dir()) / "corpora" / "wordnet"
    stamp = _source_stamp(source)
    stamp_file = target / _STAMP
    if not force and stamp_file.is_file():
        try:
            if (
                json.loads(stamp_file.read_text()) == stamp
                and not missing_wordnet_files(target)
                and (target / "lexnames").read_text() == lexnames_text()
            ):
                return target
        except (OSError, ValueError):
            pass
    with atomic_dir(target) as tmp:
        for name in WORDNET_FILES:
            shutil.copyfile(source / name, tmp / name)
        atomic_write_text(tmp / "lexnames", lexnames_text())
        atomic_write_text(tmp / _STAMP, json.dumps(stamp, indent=2, sort_keys=True) + "\n")
        for f in tmp.iterdir():
            f.chmod(0o644)  # temp files are created 0600; the dictionary is public data
        tmp.chmod(0o755)
    return target


@functools.lru_cache(maxsize=4)
def _load(data_dir: str) -> Any:
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    if data_dir not in nltk.data.path:
        nltk.data.path.append(data_dir)
    root = Path(data_dir) / "corpora" / "wordnet"
    with warnings.catch_warnings():
        # No Open Multilingual Wordnet: NLTK warns that multilingual lookups are unavailable.
        warnings.simplefilter("ignore", UserWarning)
        return WordNetCorpusReader(str(root), None)


def load_wordnet(data_dir: str | Path | None = None, source: str | Path = DEBIAN_WORDNET_DIR) -> Any:
    """An NLTK ``WordNetCorpusReader`` over WordNet 3.0 (cached); builds the data dir on first use.

    Raises:
        IrrobustError: WordNet is not installed, with instructions to install it.

    Example:
        >>> load_wordnet().get_version()  # doctest: +SKIP
        '3.0'
    """
    data_dir = Path(data_dir or nltk_data_dir())
    target = data_dir / "corpora" / "wordnet"
    if missing_wordnet_files(Path(source)) and (missing_wordnet_files(target) or not (target / "lexnames").is_file()):
        raise IrrobustError(f"WordNet 3.0 is not installed; {INSTALL_HINT}", where=str(source))
    if not missing_wordnet_files(Path(source)):
        build_nltk_wordnet(source, data_dir)
    return _load(str(data_dir))


@functools.lru_cache(maxsize=65536)
def wordnet_synonyms(word: str, max_senses: int | None = None) -> tuple[str, ...]:
    """Single-word WordNet synonyms of ``word`` (all parts of speech, senses in WordNet order).

    Lemmas of the word's synsets (NLTK's morphy maps inflected forms to lemmas), without the
    word itself or its base forms, without multi-word lemmas (``heart_attack``) so the word count stays the same,
    and without capitalised lemmas (proper nouns such as ``Cancer``) unless ``word`` is capitalised.

    Example:
        >>> "effect" in wordnet_synonyms("consequence")  # doctest: +SKIP
        True
    """
    wn = load_wordnet()
    out: list[str] = []
    low = word.lower()
    # the word's own base forms ("genomes" -> "genome") are inflections, not synonyms
    seen = {low} | {base for pos in "nvar" if (base := wn.morphy(low, pos))}
    capitalised = word[:1].isupper()
    for synset in wn.synsets(word.lower())[:max_senses]:
        for lemma in synset.lemma_names():
            if "_" in lemma or lemma.lower() in seen:
                continue
            if lemma[:1].isupper() and not capitalised:
                continue
            seen.add(lemma.lower())
            out.append(lemma)
    return tuple(out)
