"""Differentiable rankers over MiniLM word pieces: gradients for word importance, PGD, and PRADA's surrogate.

:class:`EmbeddingModel` wraps a KNRM network (:mod:`irrobust.rankers.knrm`; Xiong et al., SIGIR 2017)
and its tokenizer and exposes what gradient-based attacks need: the document's word-piece ids with
character offsets (so pieces map back to words), the score as a function of input embeddings, ``∂s/∂embeddings``
(white box) and, for PRADA, the gradient of its list loss with respect to the whole word-piece embedding matrix
(:meth:`EmbeddingModel.list_hinge_grad`), optionally at a perturbed matrix (PGD). It wraps either the *target* KNRM
(white-box attacks) or a *surrogate* trained by :func:`train_surrogate`.

:func:`train_surrogate` is PRADA's surrogate (Wu et al., TOIS 2023, §2.1 step 0): a ranker trained only
from the target's own ranked lists by pseudo relevance feedback — per list, the top ``n_pos`` documents
are pseudo-relevant and documents ranked below ``neg_from`` are negatives; pairwise hinge loss (margin 1).
Deviations from the paper: the surrogate is a KNRM over frozen MiniLM word-piece embeddings with a learned
projection (≈150k parameters, trained in seconds on a CPU) instead of a BERT-base cross-encoder, Adam
(lr 1e-3) for a few epochs instead of AdamW (lr 3e-6, 10k warm-up) for one; the exact pair rule of the
paper is not published, so the top-``n_pos`` / below-``neg_from`` rule is ours.

Example:
    >>> model = train_surrogate([("vitamin d", texts, scores)], seed=0)     # doctest: +SKIP
    >>> ids, offsets = model.doc_tokens("Vitamin D deficiency")              # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from irrobust.errors import ModelError
from irrobust.rankers.white_box import CrossEncoderWhiteBox, EmbeddingModel  # re-exported: moved to the rankers layer


def train_surrogate(lists: Sequence[tuple[str, Sequence[str], np.ndarray]], seed: int = 0, epochs: int = 3,
                    n_pos: int = 5, neg_from: int = 10, neg_per_pos: int = 8, lr: float = 1e-3,
                    batch_size: int = 32, threads: int = 1) -> EmbeddingModel:  # fmt: skip
    """Train PRADA's surrogate (a KNRM) from the target's ranked lists by pseudo relevance feedback.

    ``lists``: ``(query, candidate texts, target scores)`` per query; the target's ranking is the order of
    the scores (the attacker only needs ranks). Returns the trained :class:`EmbeddingModel`; seeded.

    Example:
        >>> sur = train_surrogate([("q", ["a b", "c d", "e"], np.array([3.0, 2.0, 1.0]))], n_pos=1, neg_from=1)  # doctest: +SKIP
    """
    from irrobust.index.models import minilm_path
    from irrobust.rankers.knrm import KNRMConfig, KNRMTrainer, _Encoder, _tokenizer

    tok = _tokenizer(str(minilm_path()))
    enc = _Encoder(tok)
    rng = np.random.default_rng(seed)
    triples: list[tuple[list[int], list[int], list[int]]] = []
    for query, texts, scores in lists:
        order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
        pos, neg = order[:n_pos], order[neg_from:]
        if len(neg) == 0 or len(pos) == 0:
            continue
        q_ids = enc([query], 32)[0]
        d_ids = dict(zip(order.tolist(), enc([texts[i] for i in order], 320), strict=True))
        for p in pos:
            for n in rng.choice(neg, size=min(neg_per_pos, len(neg)), replace=False):
                triples.append((q_ids, d_ids[int(p)], d_ids[int(n)]))
    if not triples:
        raise ModelError("no pseudo-relevance pairs to train the surrogate on (ranked lists too short)")
    # the KNRM training skeleton: seeded network, shuffled batches, hinge loss, Adam
    trainer = KNRMTrainer(KNRMConfig(epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, threads=threads))
    trainer.use_triples(triples)
    model = trainer.fit()
    return EmbeddingModel(model, tok, enc.keep, 32, 320)


def surrogate_state(model: EmbeddingModel) -> bytes:
    """The surrogate's weights (trainable part) as safetensors bytes, for checkpointing.

    Example:
        >>> len(surrogate_state(sur)) > 0   # doctest: +SKIP
        True
    """
    from safetensors.torch import save

    state = {k: v.detach().contiguous() for k, v in model.module.state_dict().items() if k != "embedding.weight"}
    return save(state)


def load_surrogate(data: bytes) -> EmbeddingModel:
    """Rebuild a surrogate saved with :func:`surrogate_state` (MiniLM embeddings re-attached).

    Example:
        >>> load_surrogate(surrogate_state(sur)).score("q", ["a"]).shape   # doctest: +SKIP
        (1,)
    """
    import torch
    from safetensors.torch import load

    from irrobust.index.models import minilm_path
    from irrobust.rankers.knrm import _Encoder, _module, _tokenizer, word_embeddings

    table = word_embeddings()
    tok = _tokenizer(str(minilm_path()))
    model = _module(table.shape[0], table.shape[1], "projection")
    state = load(data)
    with torch.no_grad():
        model.embedding.weight.copy_(table)
    missing = model.load_state_dict(state, strict=False)
    if missing.unexpected_keys or [k for k in missing.missing_keys if k != "embedding.weight"]:
        raise ModelError(f"surrogate checkpoint does not fit: {missing}")
    return EmbeddingModel(model, tok, _Encoder(tok).keep, 32, 320)


__all__ = ["CrossEncoderWhiteBox", "EmbeddingModel", "load_surrogate", "surrogate_state", "train_surrogate"]
