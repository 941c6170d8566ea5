"""Rankers: lexical (BM25, QL, RM3), learning to rank, dense, cross-encoder and KNRM-class stages.

The lexical stages are imported on first use, so that ``import irrobust.rankers.scoring`` (the cross-encoder
scorer, used standalone by ``scripts/bench/bench_gpu.py``) needs neither pandas nor pyserini.

Example:
    >>> import irrobust.rankers as rk
    >>> rk.BM25.__name__
    'BM25'
"""

from __future__ import annotations

from typing import Any

__all__ = ["BM25", "QL", "RM3", "LuceneRetriever"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from irrobust.rankers import lexical

        return getattr(lexical, name)
    raise AttributeError(f"module 'irrobust.rankers' has no attribute {name!r}")
