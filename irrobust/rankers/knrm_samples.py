"""KNRM's fast smoothed-scoring path: scores of many copies of a document without materialising their texts.

KNRM's kernel sums ``K_k(M_i) = Σ_j exp(-(cos(q_i, d_j) - μ_k)² / 2σ_k²)`` are sums over the document's kept
word pieces, and BERT's tokenizer splits at whitespace, so a copy's kernel features are a count × table product
over distinct token strings (word-piece truncation at the model's document length handled exactly). CertDR
(:mod:`irrobust.certify.smoothing`) reaches this through ``KNRMReranker.score_token_samples``; the result equals
:meth:`irrobust.rankers.knrm.KNRMScorer.score` of the materialised copy up to float rounding (tested).

Example:
    >>> KNRMTokenSampler(knrm_reranker.scorer).score_token_samples("q", ["a", "b"], [np.array([[0, 1]])])  # doctest: +SKIP
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np


class KNRMTokenSampler:
    """KNRM (:class:`irrobust.rankers.knrm.KNRMScorer`) scores ``tanh(wᵀφ + b)`` of copies from per-token kernel tables.

    KNRM's kernel sums ``K_k(M_i) = Σ_j exp(-(cos(q_i, d_j) - μ_k)² / 2σ_k²)`` run over the document's kept
    word pieces, and BERT's tokenizer splits at whitespace, so a copy's sums are the sums of its tokens'
    tables (pieces beyond the model's document length are cut exactly as the scorer cuts them).

    Example:
        >>> sampler = KNRMTokenSampler(KNRMScorer(load_knrm("beir/scifact/train")))            # doctest: +SKIP
        >>> sampler.score_token_samples("protein", ["protein", "binding"], [np.array([[0, 1]])])  # doctest: +SKIP
    """

    def __init__(self, scorer: Any) -> None:
        from irrobust.rankers.knrm_kernels import FEATURE_SCALE, MUS, SIGMAS

        self.scorer = scorer
        m = scorer.model
        emb = m.embedding.weight.detach().float().numpy()
        proj = m.projection.weight.detach().float().numpy()
        self._emb, self._proj = emb, proj
        self._w = m.dense.weight.detach().double().numpy().reshape(-1)
        self._b = float(m.dense.bias.detach().double().numpy().reshape(-1)[0])
        self._mu = np.array(MUS, dtype=np.float64)
        self._sigma = np.array(SIGMAS, dtype=np.float64)
        self._scale = float(FEATURE_SCALE)
        self._pieces: OrderedDict[str, np.ndarray] = OrderedDict()
        self._vec_cache: dict[int, np.ndarray] = {}

    def _unit(self, ids: np.ndarray) -> np.ndarray:
        v = self._emb[ids] @ self._proj.T
        n = np.linalg.norm(v, axis=1, keepdims=True)
        return v / np.maximum(n, 1e-12)  # torch.nn.functional.normalize(eps=1e-12)

    def pieces(self, strings: Sequence[str]) -> list[np.ndarray]:
        """Kept word-piece ids of each token string (cached)."""
        todo = [s for s in dict.fromkeys(strings) if s not in self._pieces]
        if todo:
            enc = self.scorer.encoder
            ids = enc.tok(todo, add_special_tokens=False, return_attention_mask=False,
                          return_token_type_ids=False)["input_ids"]  # fmt: skip
            for s, x in zip(todo, ids, strict=True):
                self._pieces[s] = np.array([i for i in x if enc.keep[i]], dtype=np.int64)
            while len(self._pieces) > 500_000:
                self._pieces.popitem(last=False)
        return [self._pieces[s] for s in strings]

    def score_token_samples(
        self, query: str, strings: Sequence[str], samples: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        """KNRM scores (float64, in (-1, 1)) of copies given as token-id matrices (ids into ``strings``)."""
        from scipy import sparse

        sc = self.scorer
        qids = np.array(sc.encoder([query], sc.qmax)[0], dtype=np.int64)
        eq = self._unit(qids)  # n × dim
        used = np.unique(np.concatenate([m.reshape(-1) for m in samples])) if samples else np.zeros(0, np.int64)
        plist = self.pieces([strings[i] for i in used])
        allp = np.unique(np.concatenate(plist + [np.array([sc.encoder.tok.unk_token_id])]))
        sim = (self._unit(allp) @ eq.T).astype(np.float64)  # P × n
        kern = np.exp(-((sim[:, :, None] - self._mu) ** 2) / (2 * self._sigma**2))  # P × n × K
        ppos = {int(p): r for r, p in enumerate(allp)}
        nk = kern.shape[1] * kern.shape[2]
        kern2 = kern.reshape(len(allp), nk)
        tab = np.zeros((len(used), nk), dtype=np.float64)
        npieces = np.zeros(len(used), dtype=np.int64)
        for r, ps in enumerate(plist):
            npieces[r] = len(ps)
            if len(ps):
                tab[r] = kern2[[ppos[int(p)] for p in ps]].sum(axis=0)
        unk = kern2[ppos[int(sc.encoder.tok.unk_token_id)]]
        local = np.full(len(strings), -1, dtype=np.int64)
        local[used] = np.arange(len(used))
        dmax = sc.dmax
        out = []
        for mat in samples:
            loc = local[mat]  # n × L
            n, L = loc.shape
            lens = npieces[loc]
            ends = np.cumsum(lens, axis=1)
            starts = ends - lens
            full = ends <= dmax
            rows = np.broadcast_to(np.arange(n)[:, None], loc.shape)[full]
            counts = sparse.csr_matrix((np.ones(len(rows)), (rows, loc[full])), shape=(n, len(used)))
            ksum = np.asarray(counts @ tab)
            cut_r, cut_c = np.nonzero((starts < dmax) & (ends > dmax))
            for r, c in zip(cut_r, cut_c, strict=True):
                ps = plist[int(loc[r, c])][: dmax - int(starts[r, c])]
                ksum[r] += kern2[[ppos[int(p)] for p in ps]].sum(axis=0)
            empty = ends[:, -1] == 0 if L else np.ones(n, dtype=bool)
            ksum[empty] = unk
            feats = (np.log(np.maximum(ksum, 1e-10)).reshape(n, len(qids), -1) * self._scale).sum(axis=1)
            out.append(np.tanh(feats @ self._w + self._b))
        return out


__all__ = ["KNRMTokenSampler"]
