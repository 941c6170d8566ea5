"""User-facing errors.

Every problem caused by the user's input (a malformed pipeline file, a missing
dataset, corrupt qrels, an empty query, ...) is raised as :class:`IrrobustError`.
The CLI turns it into a one-paragraph message and exit code 2, never a traceback.

Example:
    >>> from irrobust.errors import IrrobustError
    >>> err = IrrobustError("unknown ranker 'bm26'", where="pipelines/x.yaml: systems[0].ranker")
    >>> str(err)
    "pipelines/x.yaml: systems[0].ranker: unknown ranker 'bm26'"
"""

from __future__ import annotations


class IrrobustError(Exception):
    """An error in the user's input or environment, reported without a traceback.

    Args:
        message: what is wrong, and if possible what is allowed instead.
        where: the file and key path (or dataset ID, model directory...) it concerns.

    Example:
        >>> raise IrrobustError("no such file", where="pipelines/missing.yaml")  # doctest: +SKIP
    """

    exit_code = 2

    def __init__(self, message: str, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(IrrobustError):
    """A pipeline or config file that does not validate.

    Example:
        >>> str(ConfigError("unknown key 'foo'", where="p.yaml: systems[0]"))
        "p.yaml: systems[0]: unknown key 'foo'"
    """


class DataError(IrrobustError):
    """A dataset that is missing, corrupt or inconsistent (e.g. qrels naming unknown documents).

    Example:
        >>> str(DataError("unknown dataset 'beir/foo'"))
        "unknown dataset 'beir/foo'"
    """


class ModelError(IrrobustError):
    """A trained model or index that is missing, stale or does not match its manifest.

    Example:
        >>> str(ModelError("manifest checksum mismatch", where="indexes/scifact/models/ce"))
        'indexes/scifact/models/ce: manifest checksum mismatch'
    """
