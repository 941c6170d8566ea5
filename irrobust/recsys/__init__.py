"""Recommender robustness: noisy implicit feedback and PLD on RecBole (issue 7).

``compat`` is imported first so that RecBole works with numpy 2 / torch >= 2.6 (see its docstring).
Public entry points: :class:`~irrobust.recsys.config.RecsysConfig`,
:func:`~irrobust.recsys.experiment.run_recsys` (the report section is
:func:`irrobust.report.recsys.recsys_section`, a layer above).

Example:
    >>> from irrobust.recsys import RecsysConfig
    >>> RecsysConfig().pld_k
    5
"""

from irrobust.recsys import compat  # noqa: F401  isort: skip  (must precede any recbole import)
from irrobust.recsys.config import RecsysConfig, parse_recsys_config

__all__ = ["RecsysConfig", "parse_recsys_config", "run_recsys"]


def __getattr__(name: str):  # lazy: importing the config must not load RecBole's trainers
    if name == "run_recsys":
        from irrobust.recsys.experiment import run_recsys

        return run_recsys
    raise AttributeError(name)
