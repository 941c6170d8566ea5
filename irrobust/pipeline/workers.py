"""What a Ray worker process rebuilds once and shares between the tasks it runs: the pipeline's systems.

A task's :class:`~irrobust.core.task.WorkerState` factory runs in each worker process; factories of several tasks
of one run (every certified or attacked system) ask for the same validated pipeline and dataset, so the systems
are built once per worker process (in the pipeline's order, up to the one asked for: trained models and indexes
come from their caches, as in the driver) and kept for the next task.

Example:
    >>> cfg, ds, system = worker_system(cfg.model_dump(mode="json"), "cranfield", "bm25")   # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from irrobust.util.io import sha256_json

#: the pipeline this process built (one at a time): key -> (cfg, dataset, stage context, built systems)
_BUILT: dict[str, tuple[Any, Any, Any, dict[str, Any]]] = {}


def worker_system(config: dict[str, Any], ds_id: str, name: str,
                  train_dataset: str | None = None) -> tuple[Any, Any, Any]:  # fmt: skip
    """The validated pipeline, the dataset and the built system ``name``, built once per process (``train_dataset``:
    the training data of domain transfer, as :class:`~irrobust.pipeline.registry.StageContext` takes it).

    Example:
        >>> worker_system({"name": "x"}, "cranfield", "bm25")   # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ConfigError: <worker>: datasets: Field required; also systems: Field required
    """
    from irrobust.data.dataset import dataset
    from irrobust.pipeline.config import parse_pipeline
    from irrobust.pipeline.registry import StageContext
    from irrobust.pipeline.systems import build_system

    key = sha256_json([config, ds_id] + ([train_dataset] if train_dataset is not None else []))
    if key not in _BUILT:
        cfg = parse_pipeline(config, source="<worker>")
        ds = dataset(ds_id)
        _BUILT.clear()
        _BUILT[key] = (cfg, ds, StageContext(ds, seed=cfg.seed, progress=False, train_dataset=train_dataset), {})
    cfg, ds, ctx, built = _BUILT[key]
    for spec in cfg.systems:
        if spec.name not in built:
            built[spec.name] = build_system(spec, ctx, built)
        if spec.name == name:
            return cfg, ds, built[name]
    raise KeyError(name)


_SETS: dict[str, Any] = {}


def worker_sets(ds: Any, task: Any) -> Any:
    """The certification task's perturbation sets of ``ds``, built once per process.

    Example:
        >>> worker_sets(ds, cfg.tasks.certify).summary()   # doctest: +SKIP
    """
    from irrobust.certify.perturb import PerturbationSets

    key = sha256_json([ds.id, ds.docs_checksum, task.min_freq, task.max_set, task.graph, task.neighbours])
    if key not in _SETS:
        _SETS.clear()
        _SETS[key] = PerturbationSets.from_dataset(ds, min_freq=task.min_freq, max_set=task.max_set, graph=task.graph,
                                                   neighbours=task.neighbours)  # fmt: skip
    return _SETS[key]


__all__ = ["worker_sets", "worker_system"]
