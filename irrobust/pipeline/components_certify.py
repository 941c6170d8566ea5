"""Pipeline components of the certification layer: KNRM trained with CertDR's noisy augmentation (``knrm_noisy``).

Example:
    >>> from irrobust.pipeline import components  # registers the built-in rankers
    >>> RANKERS["knrm_noisy"].family
    'interaction'
"""

from __future__ import annotations

from pydantic import Field

from irrobust.pipeline.registry import RANKERS, Params, StageContext, Transformer, register_ranker


class NoisyKNRMParams(Params):
    """KNRM trained on randomly substituted documents (Wu et al., CIKM 2022, noisy training)."""

    model: str | None = Field(
        None, description="model name under indexes/<collection>/models/ (default knrm-minilm-noisy)"
    )
    train_on: str | None = Field(None, description="training dataset ID (default: the evaluation collection's train)")
    fit: bool = Field(True, description="train when no valid model exists")
    epochs: int | None = Field(None, ge=1)
    max_queries: int | None = Field(None, ge=1)
    seed: int | None = Field(None, description="training and augmentation seed (default: the pipeline seed)")
    max_set: int = Field(100, ge=1, description="the cap M of the smoothing sets used for the augmentation")
    graph: str = Field("mutual", pattern="^(mutual|union)$")


@register_ranker("knrm_noisy", NoisyKNRMParams, "KNRM trained with CertDR's noisy augmentation", family="interaction")
def _knrm_noisy(ctx: StageContext, p: NoisyKNRMParams) -> Transformer:
    from irrobust.certify.noisy import NOISY_KNRM, NoisyDataset, train_noisy_knrm
    from irrobust.certify.perturb import PerturbationSets
    from irrobust.rankers.knrm import KIND, KNRMConfig, KNRMReranker
    from irrobust.rankers.training import check_model_dir, model_dir, resolve_dataset

    ds = resolve_dataset(p.train_on or ctx.default_train())
    seed = p.seed if p.seed is not None else ctx.seed
    cfg = KNRMConfig(seed=seed, **{k: v for k, v in (("epochs", p.epochs), ("max_queries", p.max_queries)) if v})
    sets = PerturbationSets.from_dataset(ds, max_set=p.max_set, graph=p.graph)
    name = p.model or NOISY_KNRM
    if p.fit:
        path = train_noisy_knrm(ds, sets, seed=seed, name=name, config=cfg, progress=ctx.progress)
    else:
        path = model_dir(ds.collection, name)
        manifest = check_model_dir(
            path, KIND, dataset=ds.id, hint="train it with irrobust.certify.noisy.train_noisy_knrm"
        )
        if manifest.get("docs_checksum") != NoisyDataset(ds, sets, seed).docs_checksum:
            from irrobust.errors import ModelError

            raise ModelError("the model was not trained on these noisy documents (seed or smoothing sets differ)",
                             where=str(path))  # fmt: skip
    return KNRMReranker(path, docs=ctx.dataset.docs, verify=False)


__all__ = ["RANKERS", "NoisyKNRMParams"]
