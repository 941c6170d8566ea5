"""Interaction logs in, RecBole atomic files out.

Every dataset is normalised to one pandas table with string columns ``user``, ``item``
(and optionally a float ``timestamp``): one row per distinct (user, item) implicit
interaction. :func:`write_atomic_inter` turns such a table into a RecBole atomic
``.inter`` file; :func:`convert_interactions` is the reusable converter for any CSV/TSV
interaction log (``user, item[, timestamp]`` column names configurable).

Built-in sources, read from the staged seed directory ``irrobust.paths.seed_dir()``:

* ``ml-100k``: GroupLens ``u.data`` (``user \\t item \\t rating \\t timestamp``); **every rating is
  an implicit interaction**, whatever its value. Without a seed directory RecBole's normal
  download of ``ml-100k`` is used (into a caller-given directory).
* ``lastfm``: the LightGCN-PyTorch Last.fm files ``data1.txt`` (train) and ``test1.txt``
  (test), tab-separated, 1-based ids, third column ignored (LightGCN's loader ignores it too).
  Train and test are **merged** into each user's full interaction list, because the PLD
  protocol re-splits per user. Without a seed directory this raises :class:`DataError`.

Example:
    >>> df = load_interactions("ml-100k")
    >>> len(df), df.user.nunique(), df.item.nunique()
    (100000, 943, 1682)
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pandas as pd

from irrobust import paths
from irrobust.errors import DataError
from irrobust.util.io import atomic_write_text

__all__ = [
    "BUILTIN_DATASETS",
    "convert_interactions",
    "load_interactions",
    "read_interactions",
    "write_atomic_inter",
]

BUILTIN_DATASETS = ("ml-100k", "lastfm")


def _normalise(df: pd.DataFrame, user_col: str, item_col: str, timestamp_col: str | None, where: str) -> pd.DataFrame:
    missing = [c for c in (user_col, item_col, timestamp_col) if c is not None and c not in df.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}; the file has {list(df.columns)}", where=where)
    out = pd.DataFrame(
        {
            "user": df[user_col].astype(str).str.strip(),
            "item": df[item_col].astype(str).str.strip(),
        }
    )
    if timestamp_col is not None:
        ts = pd.to_numeric(df[timestamp_col], errors="coerce")
        if ts.isna().any():
            bad = int(ts.isna().sum())
            raise DataError(f"{bad} non-numeric value(s) in timestamp column {timestamp_col!r}", where=where)
        out["timestamp"] = ts.astype(float)
    empty = (out.user == "") | (out.item == "") | (out.user == "nan") | (out.item == "nan")
    if empty.any():
        raise DataError(f"{int(empty.sum())} row(s) with an empty user or item id", where=where)
    if out.empty:
        raise DataError("no interactions", where=where)
    # implicit feedback: one row per distinct (user, item); keep the earliest timestamp
    if "timestamp" in out:
        out = out.sort_values("timestamp", kind="stable")
    out = out.drop_duplicates(["user", "item"], keep="first").reset_index(drop=True)
    return out


def read_interactions(
    path: str | os.PathLike,
    user_col: str = "user",
    item_col: str = "item",
    timestamp_col: str | None = None,
    sep: str = ",",
    header: bool = True,
) -> pd.DataFrame:
    """Read a CSV/TSV interaction log into the normalised ``user, item[, timestamp]`` table.

    Args:
        path: the file.
        user_col, item_col, timestamp_col: column names (or 0-based positions as strings
            ``"0"``, ``"1"`` ... when ``header=False``).
        sep: field separator (``","``, ``"\\t"``, ...).
        header: whether the first line holds column names.

    Returns:
        String ``user``/``item`` columns, float ``timestamp`` if requested; duplicate
        (user, item) pairs are collapsed to one (implicit feedback).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "log.csv"
        >>> _ = p.write_text("uid,iid\\n1,a\\n1,b\\n1,a\\n")
        >>> read_interactions(p, "uid", "iid").values.tolist()
        [['1', 'a'], ['1', 'b']]
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("interaction file not found", where=str(path))
    try:
        df = pd.read_csv(
            path, sep=sep, header=0 if header else None, dtype=str, engine="python" if len(sep) > 1 else "c"
        )
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"cannot parse interaction file: {exc}", where=str(path)) from exc
    if not header:
        df.columns = [str(c) for c in df.columns]
    return _normalise(df, user_col, item_col, timestamp_col, where=str(path))


def write_atomic_inter(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a normalised interaction table as a RecBole atomic ``.inter`` file (atomically).

    Columns ``user`` → ``user_id:token``, ``item`` → ``item_id:token``, ``timestamp`` →
    ``timestamp:float`` (if present); tab-separated with RecBole's typed header.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "toy" / "toy.inter"
        >>> write_atomic_inter(pd.DataFrame({"user": ["1"], "item": ["7"]}), p)
        >>> p.read_text().splitlines()
        ['user_id:token\\titem_id:token', '1\\t7']
    """
    cols = {"user": "user_id:token", "item": "item_id:token"}
    if "timestamp" in df.columns:
        cols["timestamp"] = "timestamp:float"
    for c in ("user", "item"):
        if c not in df.columns:
            raise DataError(f"interaction table needs a {c!r} column", where=str(path))
        if df[c].astype(str).str.contains(r"[\t\n]", regex=True).any():
            raise DataError(f"{c} ids must not contain tabs or newlines", where=str(path))
    buf = io.StringIO()
    out = df[list(cols)].rename(columns=cols)
    out.to_csv(buf, sep="\t", index=False, lineterminator="\n")
    atomic_write_text(path, buf.getvalue())


def convert_interactions(
    src: str | os.PathLike,
    out_dir: str | os.PathLike,
    name: str,
    user_col: str = "user",
    item_col: str = "item",
    timestamp_col: str | None = None,
    sep: str = ",",
    header: bool = True,
) -> Path:
    """Convert any interaction log (CSV/TSV) to ``<out_dir>/<name>/<name>.inter`` for RecBole.

    The folder and file are named after ``name`` exactly as RecBole expects
    (``data_path=out_dir, dataset=name``).

    Returns:
        The path of the written ``.inter`` file.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "log.tsv").write_text("u\\ti\\tt\\n1\\t5\\t10\\n2\\t5\\t11\\n")
        >>> convert_interactions(d / "log.tsv", d / "out", "mylog", "u", "i", "t", sep="\\t").name
        'mylog.inter'
    """
    df = read_interactions(src, user_col, item_col, timestamp_col, sep=sep, header=header)
    path = Path(out_dir) / name / f"{name}.inter"
    write_atomic_inter(df, path)
    return path


def _seed_file(seed: Path | None, rel: str) -> Path | None:
    if seed is None:
        return None
    p = seed / rel
    return p if p.is_file() else None


def _load_ml100k(seed: Path | None, download_dir: Path | None) -> pd.DataFrame:
    src = _seed_file(seed, "ml-100k/u.data")
    if src is not None:
        df = pd.read_csv(src, sep="\t", header=None, names=["user", "item", "rating", "timestamp"], dtype=str)
        return _normalise(df, "user", "item", "timestamp", where=str(src))
    if download_dir is None:
        raise DataError(
            "ml-100k/u.data not in the seed directory and no download directory given",
            where=str(seed) if seed else "seed_dir",
        )
    return _download_ml100k_with_recbole(download_dir)


def _download_ml100k_with_recbole(download_dir: Path) -> pd.DataFrame:
    """RecBole's own download of its ``ml-100k`` atomic files into ``download_dir``."""
    from irrobust.recsys import compat  # noqa: F401  (before recbole)
    from irrobust.recsys.sandbox import recbole_sandbox

    inter = download_dir / "ml-100k" / "ml-100k.inter"
    if not inter.is_file():
        from recbole.config import Config
        from recbole.data import create_dataset

        download_dir.mkdir(parents=True, exist_ok=True)
        with recbole_sandbox(download_dir):
            old_argv, sys.argv = sys.argv, sys.argv[:1]  # RecBole's Config parses sys.argv
            try:
                cfg = Config(
                    model="Pop",
                    dataset="ml-100k",
                    config_dict={"data_path": str(download_dir), "use_gpu": False},
                )
                create_dataset(cfg)
            except (OSError, SystemExit) as exc:  # URLError is an OSError; RecBole exit(-1)s on refusal
                raise DataError(f"RecBole could not download ml-100k: {exc}", where=str(download_dir)) from exc
            finally:
                sys.argv = old_argv
    if not inter.is_file():
        raise DataError("RecBole's ml-100k download left no ml-100k.inter", where=str(download_dir))
    df = pd.read_csv(inter, sep="\t", dtype=str)
    df.columns = [c.split(":")[0] for c in df.columns]
    return _normalise(df, "user_id", "item_id", "timestamp", where=str(inter))


def _load_lastfm(seed: Path | None) -> pd.DataFrame:
    train = _seed_file(seed, "lastfm-lightgcn/data1.txt")
    test = _seed_file(seed, "lastfm-lightgcn/test1.txt")
    if train is None or test is None:
        raise DataError(
            "Last.fm (LightGCN format) needs lastfm-lightgcn/data1.txt and test1.txt in the seed directory "
            "(set $IRROBUST_SEED_DIR); RecBole has no download of this version",
            where=str(seed) if seed else "seed_dir (none found)",
        )
    parts = [
        pd.read_csv(p, sep="\t", header=None, names=["user", "item", "extra"], dtype=str, usecols=[0, 1, 2])
        for p in (train, test)
    ]
    return _normalise(pd.concat(parts, ignore_index=True), "user", "item", None, where=str(train.parent))


def load_interactions(
    dataset: str,
    seed: Path | None | str = "auto",
    download_dir: Path | None = None,
) -> pd.DataFrame:
    """Load a built-in dataset as the normalised ``user, item[, timestamp]`` table.

    Args:
        dataset: ``"ml-100k"`` or ``"lastfm"``.
        seed: the seed directory; ``"auto"`` = ``irrobust.paths.seed_dir()``.
        download_dir: where RecBole may download ml-100k when the seed directory lacks it.

    Example:
        >>> df = load_interactions("lastfm")
        >>> len(df), df.user.nunique(), df.item.nunique()
        (52668, 1880, 4489)
    """
    seed_path = paths.seed_dir() if seed == "auto" else (Path(seed) if seed is not None else None)
    if dataset == "ml-100k":
        return _load_ml100k(seed_path, download_dir)
    if dataset == "lastfm":
        return _load_lastfm(seed_path)
    raise DataError(f"unknown built-in dataset {dataset!r}; choose one of {BUILTIN_DATASETS}", where="recsys.dataset")
