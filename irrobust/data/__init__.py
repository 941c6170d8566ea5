"""Data layer: datasets by ID (ir_datasets), offline seeding, classic collections, synonym tables."""

from irrobust.data.dataset import KNOWN_DATASETS, Dataset, DocStore, dataset

__all__ = ["KNOWN_DATASETS", "Dataset", "DocStore", "dataset"]
