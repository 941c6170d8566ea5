"""Component registries: pipeline files name components, never import paths.

A ranker entry has a name, a pydantic model of its parameters (unknown keys are errors) and
a factory ``build(ctx, params) -> Transformer``. Lexical rankers are registered in
:mod:`irrobust.pipeline.components`; other layers add theirs the same way.

Example:
    >>> from irrobust.pipeline import components  # registers the built-in rankers
    >>> "bm25" in RANKERS
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict

from irrobust.data.dataset import Dataset
from irrobust.pipeline.transformer import Transformer

__all__ = ["RANKERS", "Params", "RankerEntry", "StageContext", "Transformer", "register_ranker"]


class Params(BaseModel):
    """Base class of component parameter models: strict (unknown keys are errors), immutable.

    Example:
        >>> class P(Params):
        ...     k: int = 10
        >>> P(k=5).k
        5
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class StageContext:
    """What a factory may use to build a stage: the evaluation dataset, the seed, progress display.

    Example:
        >>> StageContext.__dataclass_fields__.keys() >= {"dataset", "seed"}
        True
    """

    dataset: Dataset
    seed: int = 42
    progress: bool = True
    train_dataset: str | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    def default_train(self) -> str:
        """The dataset learned stages train on: ``train_dataset`` if set (domain transfer), else the
        evaluation dataset's own training split; :class:`ModelError` when there is none.

        Example:
            >>> StageContext.default_train.__name__
            'default_train'
        """
        from irrobust.data.dataset import train_split_of
        from irrobust.errors import ModelError

        train = self.train_dataset or train_split_of(self.dataset.id)
        if train is None:
            raise ModelError(f"{self.dataset.id} has no training split; give the learned stage a 'train' dataset",
                             where=self.dataset.id)  # fmt: skip
        return train

    @cached_property
    def index(self):
        """The Lucene index of the dataset's collection (built on first use)."""
        from irrobust.index.lucene import lucene_index

        return lucene_index(self.dataset, progress=self.progress)


#: ranker families compared by the robustness study
FAMILIES = ("lexical", "ltr", "dense", "cross-encoder", "interaction", "fusion")


@dataclass(frozen=True)
class RankerEntry:
    """A registered ranker: parameter model, factory, a one-line description and its family."""

    name: str
    params: type[Params]
    build: Callable[[StageContext, Any], Transformer]
    description: str
    family: str = "lexical"


RANKERS: dict[str, RankerEntry] = {}


def register_ranker(name: str, params: type[Params], description: str, family: str = "lexical"):
    """Decorator registering ``build(ctx, params)`` under ``name``.

    Example:
        >>> class NoParams(Params): pass
        >>> @register_ranker("_doc_example", NoParams, "example")
        ... def _build(ctx, params):
        ...     raise NotImplementedError
        >>> RANKERS.pop("_doc_example").description
        'example'
    """

    def deco(fn: Callable[[StageContext, Any], Transformer]):
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; allowed: {FAMILIES}")
        RANKERS[name] = RankerEntry(name, params, fn, description, family)
        return fn

    return deco
