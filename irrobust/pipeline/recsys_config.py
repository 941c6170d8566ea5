"""Top level of a ``kind: recsys`` pipeline file; the ``recsys:`` section is :class:`irrobust.recsys.config.RecsysConfig`.

Example:
    >>> RecsysPipeline.model_validate({"kind": "recsys", "name": "x", "recsys": {"n_seeds": 1}}).recsys.n_seeds
    1
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from irrobust.pipeline.executor_config import ExecutorSpec
from irrobust.recsys.config import RecsysConfig
from irrobust.util.schema import NAME_PATTERN, Strict


class RecsysPipeline(Strict):
    """A recommender-robustness pipeline: noise injection × training methods × backbones."""

    kind: Literal["recsys"]
    name: str = Field(pattern=NAME_PATTERN, max_length=80)
    description: str = Field("", max_length=20_000)
    # seeds seed..seed+n_seeds-1 (n_seeds <= 100) seed NumPy, which takes 0..2**32-1
    seed: int = Field(2024, ge=0, le=2**32 - 101, description="first seed; seeds seed..seed+n_seeds-1")
    recsys: RecsysConfig = Field(default_factory=RecsysConfig)
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec, description="who runs the trainings: `local` "
                                   "(default) or `ray` (not part of the run's identity: outputs are identical)")  # fmt: skip
