"""Index layer: Lucene (pyserini) and FAISS indexes under ``indexes/<collection>/``, built atomically with manifests."""

from irrobust.index.lucene import LuceneIndex, lucene_index

__all__ = ["LuceneIndex", "lucene_index"]
