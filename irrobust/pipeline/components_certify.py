"""Pipeline components of the certification layer: rankers trained with CertDR's noisy augmentation.

``knrm_noisy`` and ``ce_noisy`` train KNRM and the MiniLM cross-encoder on randomly substituted training
documents (Wu et al., CIKM 2022, noisy training; :mod:`irrobust.certify.noisy`).

Example:
    >>> from irrobust.pipeline.registry import RANKERS
    >>> RANKERS["knrm_noisy"].family, RANKERS["ce_noisy"].family
    ('interaction', 'cross-encoder')
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from irrobust.pipeline.registry import (
    RANKERS,
    DatasetName,
    ModelName,
    Params,
    Seed,
    StageContext,
    Transformer,
    register_ranker,
)


class NoisyParams(Params):
    """A ranker trained on randomly substituted documents (Wu et al., CIKM 2022, noisy training)."""

    model: ModelName | None = Field(None, description="model name under indexes/<collection>/models/ (default per "
                                    "ranker)")  # fmt: skip
    train_on: DatasetName | None = Field(None, description="training dataset ID (default: the evaluation collection's "
                                         "train)")  # fmt: skip
    fit: bool = Field(True, description="train when no valid model exists")
    epochs: int | None = Field(None, ge=1, le=100)
    max_queries: int | None = Field(None, ge=1)
    seed: Seed | None = Field(None, description="training and augmentation seed (default: the pipeline seed)")
    max_set: int = Field(100, ge=1, le=10_000, description="the cap M of the smoothing sets used for the augmentation")
    graph: str = Field("mutual", pattern="^(mutual|union)$")
    neighbours: int | None = Field(None, ge=1, le=10_000, description="first k table neighbours (as "
                                   "tasks.certify.neighbours)")  # fmt: skip


def _noisy_stage(ctx: StageContext, p: NoisyParams, kind: str) -> Transformer:
    """Train (or load and check) the noisy model of ``kind`` ("knrm" or "cross-encoder") and wrap it as a stage."""
    from irrobust.certify import noisy
    from irrobust.certify.perturb import PerturbationSets
    from irrobust.errors import ModelError
    from irrobust.index.models import check_model_dir, model_dir, resolve_dataset
    from irrobust.rankers import cross_encoder, knrm

    if kind == "knrm":
        module, config, reranker = knrm, knrm.KNRMConfig, knrm.KNRMReranker
        trainer, default, hint = knrm.train_knrm, noisy.NOISY_KNRM, "train_noisy_knrm"
    else:
        module, config, reranker = cross_encoder, cross_encoder.CrossEncoderConfig, cross_encoder.CrossEncoderReranker
        trainer, default, hint = cross_encoder.train_cross_encoder, noisy.NOISY_CE, "train_noisy_cross_encoder"
    ds = resolve_dataset(p.train_on or ctx.default_train())
    seed = p.seed if p.seed is not None else ctx.seed
    cfg: Any = config(seed=seed, **{k: v for k, v in (("epochs", p.epochs), ("max_queries", p.max_queries)) if v})
    sets = PerturbationSets.from_dataset(ds, max_set=p.max_set, graph=p.graph, neighbours=p.neighbours)
    name = p.model or noisy.noisy_name(default, cfg, sets)
    if p.fit:
        path = noisy.train_noisy(trainer, ds, sets, seed, name, cfg, progress=ctx.progress)
    else:
        path = model_dir(ds.collection, name)
        manifest = check_model_dir(
            path, module.KIND, dataset=ds.id, hint=f"train it with irrobust.certify.noisy.{hint}"
        )
        if manifest.get("docs_checksum") != noisy.NoisyDataset(ds, sets, seed).docs_checksum:
            raise ModelError("the model was not trained on these noisy documents (seed or smoothing sets differ)",
                             where=str(path))  # fmt: skip
    return reranker(path, docs=ctx.dataset.docs, verify=False)


@register_ranker("knrm_noisy", NoisyParams, "KNRM trained with CertDR's noisy augmentation", family="interaction")
def _knrm_noisy(ctx: StageContext, p: NoisyParams) -> Transformer:
    return _noisy_stage(ctx, p, "knrm")


@register_ranker("ce_noisy", NoisyParams, "cross-encoder trained with CertDR's noisy augmentation",
                 family="cross-encoder")  # fmt: skip
def _ce_noisy(ctx: StageContext, p: NoisyParams) -> Transformer:
    return _noisy_stage(ctx, p, "cross-encoder")


__all__ = ["RANKERS", "NoisyParams"]
