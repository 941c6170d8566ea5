"""Component registries: pipeline files name components, never import paths.

A ranker entry has a name, a pydantic model of its parameters (unknown keys are errors) and
a factory ``build(ctx, params) -> Transformer``. :data:`RANKERS` is an :class:`irrobust.core.registry.Registry`
whose built-ins are the modules in :data:`BUILTIN_MODULES` (lexical, neural, LTR, noisy-training rankers), loaded on
first lookup.

Example:
    >>> "bm25" in RANKERS
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from irrobust.core.registry import Registry, shared_registry
from irrobust.core.transformer import Transformer
from irrobust.data.dataset import Dataset

__all__ = ["MAX_K", "MAX_SEED", "PLUGIN_GROUP", "RANKERS", "DatasetName", "ModelName", "Params", "RankerEntry", "Seed",
           "StageContext", "Transformer", "plugin_ranker", "register_ranker"]  # fmt: skip

#: deepest ranking a stage may ask for (``k``, ``cutoff``, measure cutoffs); far below Lucene's and FAISS's 2^31 - 1,
#: and above every collection irrobust ships (Lucene and FAISS cut a deeper request at the collection's size)
MAX_K = 100_000
#: largest seed (NumPy, torch and Python's random all take 0 <= seed < 2^32)
MAX_SEED = 2**32 - 1
#: a folder name a model is stored under: letters, digits and ``_.+=-``, no path separators, no ``..``
MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.+=-]{0,99}$"


def _no_dot_dot(name: str) -> str:
    if ".." in name:
        raise ValueError(f"a model name has no '..', got {name!r}")
    return name


def _known_dataset(name: str) -> str:
    """A training-set name must be a known dataset ID (checked when the file is validated, not at run time)."""
    from irrobust.data.dataset import check_dataset_id
    from irrobust.errors import DataError

    try:
        check_dataset_id(name)
    except DataError as exc:
        raise ValueError(exc.message) from None
    return name


#: a model folder name (see :data:`MODEL_NAME_PATTERN`)
ModelName = Annotated[str, Field(pattern=MODEL_NAME_PATTERN, max_length=100), AfterValidator(_no_dot_dot)]
#: a known dataset ID (``beir/scifact/train``), for ``train_on``
DatasetName = Annotated[str, Field(max_length=200), AfterValidator(_known_dataset)]
#: a random seed in [0, 2^32 - 1]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]


class Params(BaseModel):
    """Base class of component parameter models: strict (unknown keys are errors), immutable, finite numbers.

    Example:
        >>> class P(Params):
        ...     k: int = 10
        >>> P(k=5).k
        5
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


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


#: the modules whose import registers the built-in rankers
BUILTIN_MODULES = (
    "irrobust.pipeline.components",
    "irrobust.pipeline.components_neural",
    "irrobust.pipeline.components_ltr",
    "irrobust.pipeline.components_certify",
)

#: the entry-point group through which third-party packages add rankers (see :func:`plugin_ranker`)
PLUGIN_GROUP = "irrobust.rankers"


def plugin_ranker(name: str, obj: object) -> RankerEntry:
    """Check a ranker a third-party package declares in the ``irrobust.rankers`` entry-point group.

    The entry point names a :class:`RankerEntry` (parameters model, ``build(ctx, params)``, description, family)
    whose ``name`` is the entry point's name; ``build`` returns a stage, and a stage that also answers the scoring
    protocol (:mod:`irrobust.core.scoring`) can be attacked and certified.

    Example:
        >>> class P(Params): pass
        >>> plugin_ranker("mine", RankerEntry("mine", P, lambda ctx, p: None, "my ranker")).name
        'mine'
        >>> plugin_ranker("mine", object())  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        TypeError: ...
    """
    if not isinstance(obj, RankerEntry):
        raise TypeError(f"the entry point must name an irrobust.pipeline.registry.RankerEntry, got a "
                        f"{type(obj).__name__}")  # fmt: skip
    if obj.name != name:
        raise ValueError(f"the RankerEntry is named {obj.name!r} but its entry point {name!r}; use one name")
    if not (isinstance(obj.params, type) and issubclass(obj.params, Params)):
        raise TypeError("RankerEntry.params must be a subclass of irrobust.pipeline.registry.Params")
    if not callable(obj.build):
        raise TypeError("RankerEntry.build must be a function build(ctx, params) -> stage")
    if obj.family not in FAMILIES:
        raise ValueError(f"unknown family {obj.family!r}; allowed: {', '.join(FAMILIES)}")
    return obj


#: every ranker a pipeline file may name: the built-ins, then the plugins of :data:`PLUGIN_GROUP`
RANKERS: Registry[RankerEntry] = shared_registry("ranker", builtins=BUILTIN_MODULES, plugins=PLUGIN_GROUP,
                                                 convert=plugin_ranker)  # fmt: skip


def register_ranker(name: str, params: type[Params], description: str, family: str = "lexical"):
    """Decorator registering ``build(ctx, params)`` under ``name``.

    Example:
        >>> class NoParams(Params): pass
        >>> @register_ranker("_doc_example", NoParams, "example")
        ... def _build(ctx, params):
        ...     raise NotImplementedError
        >>> RANKERS.unregister("_doc_example").description
        'example'
    """

    def deco(fn: Callable[[StageContext, Any], Transformer]):
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; allowed: {FAMILIES}")
        RANKERS.register(name, RankerEntry(name, params, fn, description, family))
        return fn

    return deco
