"""Noisy training (CertDR's data augmentation): train a ranker on randomly substituted training documents.

Reimplements the augmentation of CertDR (Wu et al., CIKM 2022; ``noisy_train.py`` of the authors' code, see
``../shared/reference/papers.md`` §1.5): every training document is replaced once, offline, by one draw from the
smoothing distribution Π_d (each word with a smoothing set replaced by a uniform draw from T_w), and the ranker is
trained as usual on those documents. The paper trains its BERT cross-encoder this way; here any irrobust trainer
that reads ``dataset.docs.texts`` is supported (:func:`train_noisy_knrm`, :func:`train_noisy_cross_encoder`).

Deviations: the draw of a document is seeded by (seed, docno), so the augmented corpus is reproducible; the paper
truncates the noisy document to 445 word pieces before decoding it back to text, here the model's own truncation
applies at training time.

Example:
    >>> path = train_noisy_knrm("beir/scifact/train", sets)   # doctest: +SKIP
    >>> KNRMScorer(path).score("vitamin d", ["..."])          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from irrobust.certify.perturb import DEFAULT_SETTINGS, PerturbationSets, doc_rng
from irrobust.util.io import sha256_json

#: the default names of the noisily trained KNRM and cross-encoder models
NOISY_KNRM = "knrm-minilm-noisy"
NOISY_CE = "ce-minilm-noisy"


class NoisyDocs:
    """A document store whose texts are one seeded draw from Π_d of the original texts.

    Example:
        >>> class Store:
        ...     def texts(self, docnos): return ["a big dog" for _ in docnos]
        >>> sets = PerturbationSets({"big": ["large"]}, min_freq=0, graph="union")
        >>> NoisyDocs(Store(), sets, seed=0).texts(["d1"])[0] in ("a big dog", "a large dog")
        True
    """

    def __init__(self, docs: Any, sets: PerturbationSets, seed: int) -> None:
        self.base, self.sets, self.seed = docs, sets, int(seed)

    def text(self, docno: str) -> str:
        """The noisy text of one document."""
        return self.texts([docno])[0]

    def texts(self, docnos: Sequence[str]) -> list[str]:
        """The noisy texts of documents (one fixed draw per document)."""
        out = []
        for docno, text in zip(docnos, self.base.texts(list(docnos)), strict=True):
            pos = self.sets.positions(text)
            out.append(self.sets.materialise(pos, self.sets.sample(pos, 1, doc_rng(self.seed, str(docno), 1)))[0])
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)


class NoisyDataset:
    """A dataset whose documents are :class:`NoisyDocs`; everything else (id, queries, qrels, index) is the original's.

    ``docs_checksum`` changes with the augmentation (seed and smoothing sets), so a model trained on clean documents
    is never reused for the noisy one or vice versa.

    Example:
        >>> NoisyDataset(ds, sets, seed=0).docs_checksum != ds.docs_checksum   # doctest: +SKIP
        True
    """

    def __init__(self, dataset: Any, sets: PerturbationSets, seed: int) -> None:
        self.base = dataset
        self.docs = NoisyDocs(dataset.docs, sets, seed)
        self.docs_checksum = sha256_json({"docs": dataset.docs_checksum, "noisy_seed": int(seed),
                                          "sets": sets.summary()})  # fmt: skip

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)


def noisy_name(default: str, config: Any, sets: PerturbationSets) -> str:
    """Model name of a noisily trained ranker: ``default`` for the default training settings and default smoothing
    sets (any seed), else ``default-<8 hex of both>``, so that noisy models of other settings never overwrite it.

    Example:
        >>> from irrobust.rankers.knrm import KNRMConfig
        >>> sets = PerturbationSets({"big": ["large"]}, min_freq=2)
        >>> noisy_name(NOISY_KNRM, KNRMConfig(seed=3), sets)
        'knrm-minilm-noisy'
        >>> noisy_name(NOISY_KNRM, KNRMConfig(), PerturbationSets({"big": ["large"]}, neighbours=5))[:18]
        'knrm-minilm-noisy-'
    """

    def spec(cfg: Any, settings: dict[str, Any]) -> dict[str, Any]:
        return {"train": {k: v for k, v in cfg.training_spec().items() if k != "seed"}, "sets": settings}

    mine = spec(config, sets.settings())
    return default if mine == spec(type(config)(), DEFAULT_SETTINGS) else f"{default}-{sha256_json(mine)[:8]}"


def train_noisy(trainer: Any, dataset: Any, sets: PerturbationSets | None, seed: int, name: str, config: Any,
                progress: bool = True) -> Path:  # fmt: skip
    """Train with ``trainer(ds, name=, config=, progress=)`` on the noisy documents of ``dataset`` (ID or object).

    Example:
        >>> from irrobust.rankers.knrm import KNRMConfig, train_knrm
        >>> train_noisy(train_knrm, "beir/scifact/train", None, 42, NOISY_KNRM, KNRMConfig())   # doctest: +SKIP
    """
    from irrobust.index.models import resolve_dataset

    ds = resolve_dataset(dataset)
    sets = sets if sets is not None else PerturbationSets.from_dataset(ds)
    return trainer(NoisyDataset(ds, sets, seed), name=name, config=config, progress=progress)


def train_noisy_knrm(dataset: Any, sets: PerturbationSets | None = None, seed: int = 42, name: str = NOISY_KNRM,
                     config: Any = None, progress: bool = True) -> Path:  # fmt: skip
    """Train KNRM on noisy documents of ``dataset`` (ID or object); returns the model directory (reused when valid).

    Example:
        >>> train_noisy_knrm("beir/scifact/train")   # doctest: +SKIP
        PosixPath('.../indexes/beir/scifact/models/knrm-minilm-noisy')
    """
    from irrobust.rankers.knrm import KNRMConfig, train_knrm

    return train_noisy(train_knrm, dataset, sets, seed, name, config or KNRMConfig(seed=seed), progress)


def train_noisy_cross_encoder(dataset: Any, sets: PerturbationSets | None = None, seed: int = 42, name: str = NOISY_CE,
                              config: Any = None, progress: bool = True) -> Path:  # fmt: skip
    """Fine-tune the MiniLM cross-encoder on noisy documents of ``dataset`` (the paper's BERT noisy training).

    Example:
        >>> train_noisy_cross_encoder("beir/scifact/train")   # doctest: +SKIP
        PosixPath('.../indexes/beir/scifact/models/ce-minilm-noisy')
    """
    from irrobust.rankers.cross_encoder import CrossEncoderConfig, train_cross_encoder

    return train_noisy(
        train_cross_encoder, dataset, sets, seed, name, config or CrossEncoderConfig(seed=seed), progress
    )


__all__ = [
    "NOISY_CE",
    "NOISY_KNRM",
    "NoisyDataset",
    "NoisyDocs",
    "noisy_name",
    "train_noisy",
    "train_noisy_cross_encoder",
    "train_noisy_knrm",
]
