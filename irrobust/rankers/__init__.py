"""Rankers: lexical (BM25, QL, RM3), learning to rank, dense, cross-encoder and KNRM-class stages."""

from irrobust.rankers.lexical import BM25, QL, RM3, LuceneRetriever

__all__ = ["BM25", "QL", "RM3", "LuceneRetriever"]
