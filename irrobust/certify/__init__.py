"""CertDR certification (Wu et al., 2022): certified robustness of rankings to word substitutions.

Perturbation sets of a collection (:class:`PerturbationSets`), the smoothed ranker of a base scorer
(:class:`SmoothedRanker`), certificates of a ranked list (:func:`certify_query`, :func:`certify_list`, :func:`crq`),
and the exact deterministic certificates of BM25 (:func:`max_score_under_attack`, :func:`certify_exact`). Names are
imported on first use (NumPy only; no model is loaded). In pipelines and ``ir.experiment`` the ``certify`` task
runs all of it (:mod:`irrobust.pipeline.certify_task`).

Example:
    >>> import irrobust.certify as cert
    >>> cert.crq([{1: True, 3: False}, {1: True, 3: True}], ks=[1, 3])
    {1: 1.0, 3: 0.5}
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "PerturbationSets": "irrobust.certify.perturb",
    "SmoothedRanker": "irrobust.certify.smoothing",
    "Squash": "irrobust.certify.smoothing",
    "certify_query": "irrobust.certify.certificate",
    "crq": "irrobust.certify.certificate",
    "CertifyConfig": "irrobust.certify.engine",
    "certify_list": "irrobust.certify.engine",
    "max_score_under_attack": "irrobust.certify.exact_bm25",
    "certify_exact": "irrobust.certify.exact_bm25",
    "smoothing_scorer": "irrobust.certify.targets",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'irrobust.certify' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
