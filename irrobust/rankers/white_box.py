"""White-box views of irrobust's differentiable rankers (the :class:`~irrobust.core.scoring.WhiteBox` protocol).

* :class:`EmbeddingModel` — a KNRM network (:mod:`irrobust.rankers.knrm`; Xiong et al., SIGIR 2017) and its
  tokenizer, differentiable with respect to the document's word-piece input embeddings; it is also what PRADA's
  surrogate (:func:`irrobust.attacks.surrogate.train_surrogate`) is, and exposes the list-loss gradient PRADA uses.
* :class:`CrossEncoderWhiteBox` — a cross-encoder's logit, differentiated through its input word embeddings.

``KNRMReranker.white_box()`` and ``CrossEncoderReranker.white_box()`` return these; gradient attacks use only
``doc_tokens``, ``score_grad`` and ``word_embedding``.

Example:
    >>> wb = knrm_reranker.white_box()                                  # doctest: +SKIP
    >>> emb, grad = wb.score_grad("vitamin d", "Vitamin D deficiency")   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from irrobust.errors import ModelError


class EmbeddingModel:
    """A KNRM network + tokenizer, differentiable w.r.t. the document's word-piece input embeddings.

    Args:
        module: the KNRM ``nn.Module`` (``embedding``, ``projection``, ``mu``, ``sigma``, ``dense``).
        tokenizer: its fast WordPiece tokenizer.
        keep: boolean mask over the vocabulary of pieces KNRM keeps (punctuation and special tokens dropped).
        qmax, dmax: query / document truncation in pieces.

    Example:
        >>> wb = EmbeddingModel.from_knrm_scorer(knrm_reranker.scorer)   # doctest: +SKIP
        >>> wb.score("vitamin d", ["vitamin d deficiency"])              # doctest: +SKIP
    """

    def __init__(self, module: Any, tokenizer: Any, keep: np.ndarray, qmax: int = 32, dmax: int = 320) -> None:
        self.module, self.tok, self.keep = module, tokenizer, keep
        self.qmax, self.dmax = int(qmax), int(dmax)
        self.module.eval()

    @classmethod
    def from_knrm_scorer(cls, scorer: Any) -> EmbeddingModel:
        """The white-box view of a :class:`~irrobust.rankers.knrm.KNRMScorer`.

        Example:
            >>> EmbeddingModel.from_knrm_scorer(KNRMScorer(path))   # doctest: +SKIP
        """
        enc = getattr(scorer, "encoder", None)
        if enc is None or not hasattr(scorer, "model"):
            raise ModelError(f"{type(scorer).__name__} is not a KNRM scorer")
        return cls(scorer.model, enc.tok, enc.keep, scorer.qmax, scorer.dmax)

    @property
    def table(self) -> Any:
        """The word-piece embedding matrix (vocab × dim), detached.

        Example:
            >>> wb.table.shape   # doctest: +SKIP
            torch.Size([30522, 384])
        """
        return self.module.embedding.weight.detach()

    def _ids(self, text: str, limit: int) -> tuple[list[int], list[tuple[int, int]]]:
        enc = self.tok(text, add_special_tokens=False, return_offsets_mapping=True, return_attention_mask=False,
                       return_token_type_ids=False)  # fmt: skip
        pairs = [(i, tuple(o)) for i, o in zip(enc["input_ids"], enc["offset_mapping"], strict=True) if self.keep[i]]
        pairs = pairs[:limit] or [(self.tok.unk_token_id, (0, 0))]
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def doc_tokens(self, text: str, query: str = "") -> tuple[list[int], list[tuple[int, int]]]:
        """Kept, truncated word-piece ids of a document and their character offsets (``query`` is unused:
        KNRM truncates documents alone).

        Example:
            >>> wb.doc_tokens("Vitamin D")[0]   # doctest: +SKIP
            [17663, 1040]
        """
        return self._ids(text, self.dmax)

    def query_tokens(self, query: str) -> list[int]:
        """Kept, truncated word-piece ids of a query.

        Example:
            >>> len(wb.query_tokens("vitamin d")) >= 2   # doctest: +SKIP
            True
        """
        return self._ids(query, self.qmax)[0]

    def knrm_from_embeds(self, q_emb: Any, d_emb: Any, d_mask: Any | None = None) -> Any:
        """KNRM scores from *input* embeddings: one query (``n × dim``) against documents (``B × m × dim``,
        padding masked by ``d_mask`` ``B × m``); the module's forward pass with the embedding lookup replaced.

        Example:
            >>> wb.knrm_from_embeds(wb.table[[5, 6]], wb.table[[[1, 2]]]).shape   # doctest: +SKIP
            torch.Size([1])
        """
        return self._kernel_score(self._unit(q_emb), self._unit(d_emb), d_mask)

    def _unit(self, emb: Any) -> Any:
        from torch import nn

        return nn.functional.normalize(self.module.projection(emb), dim=-1)

    def _kernel_score(self, eq: Any, ed: Any, d_mask: Any | None) -> Any:
        import torch

        from irrobust.rankers.knrm_kernels import FEATURE_SCALE

        m = self.module
        eq = eq.unsqueeze(0).expand(ed.shape[0], -1, -1)
        sim = torch.bmm(eq, ed.transpose(1, 2)).unsqueeze(-1)
        k = torch.exp(-((sim - m.mu) ** 2) / (2 * m.sigma**2))
        if d_mask is not None:
            k = k * d_mask[:, None, :, None]
        soft_tf = torch.log(torch.clamp(k.sum(2), min=1e-10)) * FEATURE_SCALE
        return torch.tanh(m.dense(soft_tf.sum(1))).squeeze(-1)

    def score_embeds(self, q_ids: list[int], d_emb: Any) -> Any:
        """KNRM score of one query against documents given as input embeddings (``B × m × dim`` or ``m × dim``).

        Example:
            >>> wb.score_embeds(wb.query_tokens("q"), wb.table[[1, 2]])   # doctest: +SKIP
        """
        import torch

        if d_emb.dim() == 2:
            d_emb = d_emb.unsqueeze(0)
        return self.knrm_from_embeds(self.module.embedding(torch.tensor(q_ids, dtype=torch.long)), d_emb)

    def list_hinge_grad(self, q_ids: Sequence[int], d_ids: Sequence[int], others: Sequence[Sequence[int]],
                        rows: tuple[np.ndarray, Any] | None = None) -> tuple[np.ndarray, Any, float]:  # fmt: skip
        """The non-zero rows of ``∂L/∂E`` for PRADA's list loss ``L = Σ_j max(0, 1 − s(q,d) + s(q,d_j))``.

        Every score — the target document ``d_ids``, the other documents ``others`` and the query — is computed
        from the word-piece embedding matrix ``E``, so the gradient is the full one of the reference (a piece
        that also occurs in the query or in another document gets those contributions too), not only the
        target document's. ``rows = (ids, vectors)`` replaces those rows of ``E`` (PRADA's PGD perturbs the
        matrix). Returns ``(U, G_U, L)``: the sorted piece ids ``U`` that occur, the gradient rows ``G_U``
        (every other row of ``∂L/∂E`` is zero, so ``‖G_U‖_F`` is the whole gradient's Frobenius norm) and the
        loss. Document embeddings are projected once per distinct piece (equal to the module's forward pass).

        Example:
            >>> U, G, loss = sur.list_hinge_grad([2003], [2009, 2010], [[2011], [2012, 2013]])   # doctest: +SKIP
        """
        import torch

        seqs = [list(d_ids), *[list(o) for o in others]]
        uniq = np.unique(np.concatenate([np.asarray(q_ids, dtype=np.int64), *[np.asarray(s, dtype=np.int64)
                                                                              for s in seqs]]))  # fmt: skip
        sub = self.table[torch.from_numpy(uniq)].clone()
        if rows is not None:
            ids, vecs = rows
            at = np.searchsorted(uniq, np.asarray(ids, dtype=np.int64))
            hit = (at < len(uniq)) & (uniq[np.minimum(at, len(uniq) - 1)] == np.asarray(ids))
            if hit.any():
                sub[torch.from_numpy(at[hit])] = vecs[torch.from_numpy(np.flatnonzero(hit))].to(sub.dtype)
        sub.requires_grad_(True)
        width = max(len(s) for s in seqs)
        pos = np.zeros((len(seqs), width), dtype=np.int64)
        mask = np.zeros((len(seqs), width), dtype=np.float32)
        for r, s in enumerate(seqs):
            pos[r, : len(s)] = np.searchsorted(uniq, s)
            mask[r, : len(s)] = 1.0
        q_pos = torch.from_numpy(np.searchsorted(uniq, np.asarray(q_ids, dtype=np.int64)))
        unit = self._unit(sub)
        s = self._kernel_score(unit[q_pos], unit[torch.from_numpy(pos)], torch.from_numpy(mask))
        loss = torch.clamp(1.0 - s[0] + s[1:], min=0).sum()
        value = float(loss.detach())
        if value == 0.0:  # every hinge inactive: a zero gradient (the reference's step is then skipped)
            return uniq, torch.zeros_like(sub.detach()), value
        (grad,) = torch.autograd.grad(loss, sub)
        return uniq, grad.detach(), value

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Scores of texts (the :class:`~irrobust.attacks.goal.Target` protocol), length-sorted batches of 64.

        Example:
            >>> wb.score("q", ["a", "b"]).shape   # doctest: +SKIP
            (2,)
        """
        import torch

        from irrobust.rankers.knrm_kernels import pad_ids as _pad

        q = self.query_tokens(query)
        docs = [self.doc_tokens(t)[0] for t in texts]
        out = np.empty(len(texts), dtype=np.float64)
        order = np.argsort([-len(d) for d in docs], kind="stable")
        with torch.no_grad():
            for s in range(0, len(order), 64):
                b = order[s : s + 64]
                qs, qm = _pad([q] * len(b))
                ds, dm = _pad([docs[i] for i in b])
                out[b] = self.module(qs, qm, ds, dm).double().numpy()
        return out

    def score_grad(self, query: str, text: str) -> tuple[Any, Any]:
        """``(embeddings, ∂s/∂embeddings)`` of the document's score (white-box attacks).

        Example:
            >>> emb, grad = wb.score_grad("q", "text")   # doctest: +SKIP
        """
        import torch

        d_emb = self.table[self.doc_tokens(text)[0]].clone().requires_grad_(True)
        s = self.score_embeds(self.query_tokens(query), d_emb)[0]
        (grad,) = torch.autograd.grad(s, d_emb)
        return d_emb.detach(), grad.detach()

    def word_embedding(self, word: str) -> Any:
        """Mean input embedding of a word's pieces (PRADA's representation of multi-piece words).

        Example:
            >>> wb.word_embedding("hazard").shape   # doctest: +SKIP
            torch.Size([384])
        """
        ids = self._ids(word, 16)[0]
        return self.table[ids].mean(0)


class CrossEncoderWhiteBox:
    """White-box view of a :class:`~irrobust.rankers.scoring.CrossEncoderScorer` for gradient attacks.

    Exposes the same three things the gradient recipe uses from :class:`EmbeddingModel`: the document's
    word pieces with character offsets (the document side of ``[CLS] q [SEP] d [SEP]``, truncated as the
    scorer truncates), ``∂score/∂embeddings`` of those pieces (the logit, through the input word
    embeddings), and a word's mean piece embedding. int8/bf16 scorers are differentiated as loaded.

    Example:
        >>> wb = CrossEncoderWhiteBox(ce_reranker.scorer)   # doctest: +SKIP
        >>> emb, grad = wb.score_grad("vitamin d", "Vitamin D deficiency")   # doctest: +SKIP
    """

    def __init__(self, scorer: Any) -> None:
        if not hasattr(scorer, "tokenizer") or not hasattr(scorer, "model"):
            raise ModelError(f"{type(scorer).__name__} is not a cross-encoder scorer")
        self.scorer, self.tok, self.model = scorer, scorer.tokenizer, scorer.model
        self.emb = self.model.get_input_embeddings()

    def _encode(self, query: str, text: str) -> tuple[dict[str, Any], list[int]]:
        enc = self.tok(query, text, truncation="longest_first", max_length=self.scorer.max_length,
                       return_offsets_mapping=True, return_token_type_ids=True)  # fmt: skip
        seq = enc.sequence_ids()
        doc_pos = [i for i, s in enumerate(seq) if s == 1]
        return enc, doc_pos

    def doc_tokens(self, text: str, query: str = "") -> tuple[list[int], list[tuple[int, int]]]:
        """Document-side piece ids and character offsets (as truncated together with ``query``).

        Example:
            >>> wb.doc_tokens("Vitamin D", "q")[1]   # doctest: +SKIP
            [(0, 7), (8, 9)]
        """
        enc, pos = self._encode(query, text)
        return [enc["input_ids"][i] for i in pos], [tuple(enc["offset_mapping"][i]) for i in pos]

    def score_grad(self, query: str, text: str) -> tuple[Any, Any]:
        """``(embeddings, ∂logit/∂embeddings)`` of the document-side pieces.

        Example:
            >>> emb, grad = wb.score_grad("q", "text")   # doctest: +SKIP
        """
        import torch

        enc, pos = self._encode(query, text)
        ids = torch.tensor([enc["input_ids"]])
        with torch.enable_grad():
            embeds = self.emb(ids).detach().requires_grad_(True)
            out = self.model(inputs_embeds=embeds, attention_mask=torch.ones_like(ids),
                             token_type_ids=torch.tensor([enc["token_type_ids"]])).logits[0, 0]  # fmt: skip
            (grad,) = torch.autograd.grad(out, embeds)
        return embeds[0, pos].detach(), grad[0, pos].detach()

    def word_embedding(self, word: str) -> Any:
        """Mean input embedding of a word's pieces.

        Example:
            >>> wb.word_embedding("hazard").shape   # doctest: +SKIP
            torch.Size([384])
        """
        import torch

        ids = self.tok(word, add_special_tokens=False)["input_ids"] or [self.tok.unk_token_id]
        return self.emb(torch.tensor(ids)).detach().mean(0)


__all__ = ["CrossEncoderWhiteBox", "EmbeddingModel"]
