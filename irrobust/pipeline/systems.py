"""Systems from their specs: a pipeline's stages composed with ``>>`` and ``%``, or a fusion of built systems.

Used by the runner, the Python API and the workers of the attack and certification tasks (one definition, so a
system is the same object wherever it is built).

Example:
    >>> from irrobust.pipeline.config import SystemSpec
    >>> system_family(SystemSpec(name="b", stages=[{"ranker": "bm25"}]))
    'lexical'
"""

from __future__ import annotations

from irrobust.core.transformer import RRF, Compose, Memo, RankCutoff, ScoreScale, ScoreSum, Transformer
from irrobust.pipeline.config import SystemSpec
from irrobust.pipeline.registry import RANKERS, StageContext


def build_system(spec: SystemSpec, ctx: StageContext, built: dict[str, Transformer]) -> Transformer:
    """Build one system from its spec (stages composed with ``>>`` and ``%``, or a fusion of built systems).

    Example:
        >>> build_system(spec, ctx, {})  # doctest: +SKIP
    """
    if spec.fuse is not None:
        parts = [built[name] for name in spec.fuse.systems]
        if spec.fuse.method == "rrf":
            system: Transformer = RRF(parts, k=spec.fuse.k)
        else:
            weights = spec.fuse.weights or [1.0] * len(parts)
            system = ScoreScale(parts[0], weights[0])
            for part, w in zip(parts[1:], weights[1:], strict=True):
                system = ScoreSum(system, ScoreScale(part, w))
    else:
        stages: list[Transformer] = []
        for stage in spec.stages or []:
            entry = RANKERS[stage.ranker]
            stages.append(entry.build(ctx, stage.resolved))
            if stage.cutoff:
                stages.append(RankCutoff(stage.cutoff))
        system = stages[0] if len(stages) == 1 else Compose(*stages)
    system.name = spec.name
    return Memo(system)


#: families whose rankers learn from training data (the memorisation split applies to them)
LEARNED_FAMILIES = ("ltr", "cross-encoder", "interaction")


def system_family(spec: SystemSpec) -> str:
    """The ranker family of a system: its last stage's family, or ``fusion``.

    Example:
        >>> system_family(SystemSpec(name="b", stages=[{"ranker": "bm25"}]))
        'lexical'
    """
    if spec.fuse is not None:
        return "fusion"
    return RANKERS[(spec.stages or [])[-1].ranker].family
