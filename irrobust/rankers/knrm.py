"""KNRM: kernel-based neural ranking (Xiong, Dai, Callan, Liu & Power, "End-to-End Neural Ad-hoc Ranking
with Kernel Pooling", SIGIR 2017), reimplemented in PyTorch, and its reranking stage.

Model (per query q with n tokens and document d with m tokens):

1. translation matrix ``M[i, j] = cos(e(q_i), e(d_j))`` of word embeddings;
2. kernel pooling with K = 11 RBF kernels ``K_k(M_i) = Σ_j exp(-(M_ij - μ_k)² / (2σ_k²))``: one exact-match
   kernel (μ = 1.0, σ = 1e-3) and ten soft-match kernels (μ = 0.9, 0.7, …, -0.9, σ = 0.1), as in the paper;
3. soft-TF features ``φ_k = Σ_i log K_k(M_i)`` (K clamped at 1e-10; padding masked), scaled by 0.01 (our
   choice: the raw sums reach ±hundreds and would saturate the tanh at initialisation);
4. ranking score ``f(q, d) = tanh(wᵀφ + b)``, trained with the pairwise hinge loss
   ``max(0, 1 - f(q, d⁺) + f(q, d⁻))`` on (query, relevant, BM25-negative) triples.

Deviations from the paper, and why:

* **Embeddings.** The paper learns word2vec-initialised word embeddings end to end from millions of
  search-log pairs. irrobust trains on a few hundred queries (SciFact: 809), too few to re-learn a
  vocabulary: updating embeddings would move only the words seen in training away from the unseen
  ones. So the MiniLM (all-MiniLM-L6-v2) word-piece *input* embeddings are **frozen**, and a learned
  linear projection (384 → 384, initialised to the identity) is applied before the cosine. The
  projection adapts the similarity space for every word at once, and an identical token still has
  cosine 1, so the exact-match kernel is unchanged. ``embeddings="finetune"`` trains the embedding
  table as in the paper.
* **Tokens.** MiniLM's lower-cased WordPiece tokens (no special tokens); tokens made only of
  punctuation are dropped; queries are cut at 32 and documents at 320 tokens.
* **Optimiser.** Adam (lr 1e-3) on mini-batches of triples, seeded, a few epochs (the paper: Adam, lr 1e-3).

The model is tiny (≈150k trainable parameters) and scoring costs one batched matmul per pair, so it
can be attacked and certified many times.

Example:
    >>> from irrobust.rankers.knrm import KNRMReranker, train_knrm
    >>> path = train_knrm("beir/scifact/train")                                        # doctest: +SKIP
    >>> knrm = KNRMReranker.from_dataset("beir/scifact/train", docs=test.docs)        # doctest: +SKIP
    >>> (bm25 % 100 >> knrm)(test.queries)                                             # doctest: +SKIP
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from irrobust.core.scoring import ScoringCapabilities
from irrobust.errors import ModelError
from irrobust.index.models import check_model_dir, load_model_dir, minilm_path, package_version
from irrobust.rankers.knrm_kernels import FEATURE_SCALE, MUS, SIGMAS
from irrobust.rankers.knrm_kernels import pad_ids as _pad
from irrobust.rankers.rerank import TrainedReranker, as_docstore
from irrobust.rankers.scoring import torch_threads
from irrobust.rankers.training import (
    MINILM_TOKENIZER,
    NegativesConfig,
    Trainer,
    config_dict,
    minilm_vocab_hash,
    sampled_training_groups,
    training_queries,
)
from irrobust.util.batching import plan_batches
from irrobust.util.compute import default_threads

KIND = "knrm"
DEFAULT_NAME = "knrm-minilm"


@dataclass(frozen=True)
class KNRMConfig:
    """KNRM training settings.

    Example:
        >>> KNRMConfig().embeddings
        'projection'
    """

    embeddings: str = "projection"
    query_max_tokens: int = 32
    doc_max_tokens: int = 320
    epochs: int = 3
    lr: float = 1e-3
    batch_size: int = 32
    negatives: NegativesConfig = field(default_factory=lambda: NegativesConfig(n_neg=4, depth=100))
    max_pos_per_query: int | None = 2
    max_queries: int | None = None
    #: train only on queries whose relevant documents are not relevant for this dataset's queries (see
    #: :func:`irrobust.rankers.training.training_queries`); None: every training query
    disjoint_from: str | None = None
    seed: int = 0
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.embeddings not in ("projection", "frozen", "finetune"):
            raise ModelError(f"KNRM embeddings must be 'projection', 'frozen' or 'finetune', got {self.embeddings!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ModelError("epochs, batch_size and lr must be positive")

    def training_spec(self) -> dict[str, Any]:
        """Settings that determine the weights.

        Example:
            >>> KNRMConfig().training_spec()["epochs"]
            3
        """
        spec = config_dict(self)
        spec.pop("threads")
        return spec


def _module(vocab_size: int, dim: int, embeddings: str) -> Any:
    import torch
    from torch import nn

    class KNRM(nn.Module):
        """KNRM scoring network (see the module docstring)."""

        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
            self.embedding.weight.requires_grad = embeddings == "finetune"
            self.projection = nn.Linear(dim, dim, bias=False)
            with torch.no_grad():
                self.projection.weight.copy_(torch.eye(dim))
            self.projection.weight.requires_grad = embeddings == "projection"
            self.register_buffer("mu", torch.tensor(MUS).view(1, 1, 1, -1), persistent=False)
            self.register_buffer("sigma", torch.tensor(SIGMAS).view(1, 1, 1, -1), persistent=False)
            self.dense = nn.Linear(len(MUS), 1)

        def features(self, q: Any, qmask: Any, d: Any, dmask: Any) -> Any:
            eq = nn.functional.normalize(self.projection(self.embedding(q)), dim=-1)
            ed = nn.functional.normalize(self.projection(self.embedding(d)), dim=-1)
            sim = torch.bmm(eq, ed.transpose(1, 2)).unsqueeze(-1)  # B × n × m × 1
            k = torch.exp(-((sim - self.mu) ** 2) / (2 * self.sigma**2)) * dmask[:, None, :, None]
            soft_tf = torch.log(torch.clamp(k.sum(2), min=1e-10)) * qmask[:, :, None] * FEATURE_SCALE  # B × n × K
            return soft_tf.sum(1)

        def forward(self, q: Any, qmask: Any, d: Any, dmask: Any) -> Any:
            return torch.tanh(self.dense(self.features(q, qmask, d, dmask))).squeeze(-1)

    return KNRM()


@functools.lru_cache(maxsize=4)
def _tokenizer(path: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path, use_fast=True)


def _is_punct(tok: str) -> bool:
    t = tok[2:] if tok.startswith("##") else tok
    return all(ch in string.punctuation for ch in t)


class _Encoder:
    """Text → token ids (WordPiece, no special tokens, punctuation-only tokens dropped, truncated)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tok = tokenizer
        vocab = tokenizer.get_vocab()
        self.keep = np.ones(max(vocab.values()) + 1, dtype=bool)
        for t, i in vocab.items():
            if _is_punct(t) or (t.startswith("[") and t.endswith("]")):
                self.keep[i] = False

    def __call__(self, texts: list[str], max_tokens: int) -> list[list[int]]:
        # whole texts are tokenized, punctuation dropped, then cut: the length warning does not apply (verbose=False)
        ids = self.tok(
            texts, add_special_tokens=False, return_attention_mask=False, return_token_type_ids=False, verbose=False
        )["input_ids"]
        return [[i for i in x if self.keep[i]][:max_tokens] or [self.tok.unk_token_id] for x in ids]


@functools.lru_cache(maxsize=1)
def word_embeddings() -> Any:
    """MiniLM's word-piece input embedding table (float32, vocabulary × 384): where KNRM's embeddings start.

    Example:
        >>> word_embeddings().shape   # doctest: +SKIP
        torch.Size([30522, 384])
    """
    from safetensors.torch import load_file

    emb = load_file(str(minilm_path() / "model.safetensors"))
    key = next(k for k in emb if k.endswith("word_embeddings.weight"))
    return emb[key].float()


class KNRMTrainer(Trainer):
    """KNRM's hooks of the :class:`~irrobust.rankers.training.Trainer` skeleton (see the module docstring).

    Examples: (query, relevant, BM25-negative) triples of token ids; network: KNRM over the MiniLM word-piece
    embeddings, Adam; loss: pairwise hinge with margin 1. :meth:`use_triples` sets triples built elsewhere
    (PRADA's surrogate trains on pseudo-relevance triples this way, with :meth:`fit`).

    Example:
        >>> KNRMTrainer(KNRMConfig(max_queries=40, epochs=1), "knrm-small").train("beir/scifact/train")  # doctest: +SKIP
    """

    kind, label = KIND, "knrm"
    log_every, flush_each_epoch = 50, True
    #: fp32 on every device: the exact-match kernel (sigma 1e-3) needs cosines resolved far below bf16's (2^-8) and
    #: fp16's (2^-11) spacing near 1, and KNRM scores in fp32 (:class:`KNRMScorer`), so it trains as it scores
    mixed_precision = False

    def __init__(self, config: KNRMConfig, name: str = DEFAULT_NAME, progress: bool = False,
                 device: str = "auto", precision: str = "auto") -> None:  # fmt: skip
        super().__init__(config, name, progress, device, precision)
        self.batch_size = config.batch_size
        self.triples: list[tuple[list[int], list[int], list[int]]] = []

    def use_triples(self, triples: Any) -> None:
        """Train on these ``(query ids, relevant ids, negative ids)`` triples of token ids.

        Example:
            >>> t = KNRMTrainer(KNRMConfig()); t.use_triples([([1], [2], [3])]); t.n_items
            1
        """
        self.triples = list(triples)
        self.n_items = len(self.triples)

    def prepare(self, ds: Any) -> None:
        cfg = self.cfg
        self.tokenizer = _tokenizer(str(minilm_path()))
        enc = _Encoder(self.tokenizer)
        queries = training_queries(ds, cfg)
        self.groups = groups = sampled_training_groups(ds, queries, cfg)
        docnos = sorted(set(groups["pos"]) | {d for negs in groups["negs"] for d in negs})
        doc_ids = dict(zip(docnos, enc(ds.docs.texts(docnos), cfg.doc_max_tokens), strict=True))
        qtext = dict(zip(groups["qid"], groups["query"], strict=False))
        q_ids = dict(zip(qtext, enc(list(qtext.values()), cfg.query_max_tokens), strict=True))
        self.use_triples((q_ids[q], doc_ids[p], doc_ids[n])
                         for q, p, negs in zip(groups["qid"], groups["pos"], groups["negs"], strict=True) for n in negs)  # fmt: skip

    def network(self) -> tuple[Any, Any, Any]:
        import torch

        table = word_embeddings()
        model = _module(table.shape[0], table.shape[1], self.cfg.embeddings)
        with torch.no_grad():
            model.embedding.weight.copy_(table)
        return model, torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=self.cfg.lr), None

    def loss(self, model: Any, batch: np.ndarray) -> Any:
        import torch

        qs, qm = _pad([self.triples[i][0] for i in batch])
        ps, pm = _pad([self.triples[i][1] for i in batch])
        ns, nm = _pad([self.triples[i][2] for i in batch])
        if self.device.startswith("cuda"):
            qs, qm, ps, pm, ns, nm = (t.to(self.device, non_blocking=True) for t in (qs, qm, ps, pm, ns, nm))
        return torch.clamp(1.0 - model(qs, qm, ps, pm) + model(qs, qm, ns, nm), min=0).mean()

    def on_epoch_end(self, epoch: int) -> None:
        if self.progress:
            print(f"[knrm {self.name}] epoch {epoch + 1}/{self.cfg.epochs} loss {self.curve[-1]['loss']:.4f}",
                  flush=True)  # fmt: skip

    def save(self, model: Any, tmp: Path) -> dict[str, Any]:
        from safetensors.torch import save_file

        save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(tmp / "model.safetensors"))
        self.tokenizer.save_pretrained(str(tmp))
        return {}

    def describe(self) -> dict[str, Any]:
        return {
            "base_model": {"embeddings": "word-piece input embeddings (word_embeddings.weight)"},
            "kernels": {"mu": list(MUS), "sigma": list(SIGMAS)},
            "loss": "pairwise hinge, margin 1",
            "train_queries": int(self.groups["qid"].nunique()),
            "train_triples": len(self.triples),
            "versions": {"torch": package_version("torch")},
        }

    def summary(self) -> str:
        return f"{len(self.triples)} triples"


def train_knrm(
    dataset: Any,
    name: str = DEFAULT_NAME,
    config: KNRMConfig | None = None,
    force: bool = False,
    progress: bool = True,
    directory: Path | None = None,
    device: str = "auto",
) -> Path:
    """Train KNRM on ``dataset``'s qrels with BM25 hard negatives; return the model directory.

    Reuses a valid model trained on the same dataset with the same config unless ``force``. See :class:`KNRMTrainer`.

    Example:
        >>> train_knrm("beir/scifact/train", config=KNRMConfig(max_queries=40, epochs=1))   # doctest: +SKIP
    """
    return KNRMTrainer(config or KNRMConfig(), name, progress, device).train(dataset, directory, force)


def load_knrm(dataset: Any, name: str = DEFAULT_NAME, verify: bool = True) -> Path:
    """The validated directory of the KNRM model trained on ``dataset`` under ``name`` (see :func:`check_model_dir`).

    Example:
        >>> load_knrm("beir/scifact/train").name   # doctest: +SKIP
        'knrm-minilm'
    """
    dataset_id = dataset if isinstance(dataset, str) else dataset.id
    hint = (
        f'train it with: python -c "from irrobust.rankers.knrm import train_knrm; '
        f"train_knrm('{dataset_id}', name='{name}')\""
    )
    return load_model_dir(dataset, name, KIND, MINILM_TOKENIZER, minilm_vocab_hash(), hint, verify)


#: CUDA defaults of :class:`KNRMScorer`: document tokens and pairs per forward pass (its kernel tensor holds
#: pairs × query tokens × document tokens × 11 floats: at most ≈ 370 MB at 32 query tokens)
KNRM_CUDA_TOKEN_BUDGET, KNRM_CUDA_MAX_BATCH = 262_144, 4096


class KNRMScorer:
    """Score (query, document) pairs with a trained KNRM model directory.

    Pairs are sorted by document length and batched by a budget of document tokens
    (:func:`irrobust.util.batching.plan_batches`); scores come back in the caller's order. Defaults: on the CPU, at
    most ``batch_size`` (256) pairs per batch and a budget of ``batch_size × doc_max_tokens``, i.e. the fixed
    length-sorted batches KNRM always used (the same scores, bit for bit); on CUDA ``KNRM_CUDA_MAX_BATCH`` pairs and
    ``KNRM_CUDA_TOKEN_BUDGET`` document tokens.

    Example:
        >>> KNRMScorer(load_knrm("beir/scifact/train")).score("q", ["d1", "d2"]).shape   # doctest: +SKIP
        (2,)
    """

    def __init__(
        self, model: str | Path, batch_size: int | None = None, threads: int | None = None, verify: bool = True,
        device: str = "auto", token_budget: int | None = None,
    ) -> None:  # fmt: skip
        import torch
        from safetensors.torch import load_file

        from irrobust.util.compute import resolve_device

        self.path = Path(model)
        self.manifest = check_model_dir(
            self.path, KIND, verify_files=verify, hint="train it with irrobust.rankers.knrm.train_knrm"
        )
        cfg = self.manifest["config"]
        self.qmax, self.dmax = int(cfg["query_max_tokens"]), int(cfg["doc_max_tokens"])
        self.encoder = _Encoder(_tokenizer(str(self.path)))
        state = load_file(str(self.path / "model.safetensors"))
        vocab, dim = state["embedding.weight"].shape
        self.model = _module(vocab, dim, cfg["embeddings"])
        try:
            self.model.load_state_dict(state)
        except RuntimeError as exc:
            raise ModelError(f"weights do not fit the KNRM network: {exc}", where=str(self.path)) from exc
        self.model.eval()
        #: where the network runs (``auto``: CUDA when available); KNRM stays fp32 everywhere (its exact-match
        #: kernel has sigma 1e-3, below bf16's resolution near 1)
        self.device = resolve_device(device, where="knrm.device")
        self.model.to(self.device)
        cuda = self.device.startswith("cuda")
        self.batch_size = int(batch_size if batch_size is not None else (KNRM_CUDA_MAX_BATCH if cuda else 256))
        self.token_budget = int(token_budget if token_budget is not None
                                else (KNRM_CUDA_TOKEN_BUDGET if cuda else self.batch_size * self.dmax))  # fmt: skip
        if self.batch_size < 1 or self.token_budget < 1:
            raise ModelError(f"batch_size and token_budget must be positive, got {self.batch_size}, "
                             f"{self.token_budget}", where=str(self.path))  # fmt: skip
        self.threads = threads if threads is not None else default_threads()
        self._torch = torch

    def score(self, query: str | list[str], docs: list[str]) -> np.ndarray:
        """Scores (float32, in (-1, 1)) of ``docs`` for one query or aligned lists of queries and docs.

        Example:
            >>> scorer.score("q", ["d"]).dtype   # doctest: +SKIP
            dtype('float32')
        """
        queries = [query] * len(docs) if isinstance(query, str) else list(query)
        if len(queries) != len(docs):
            raise ModelError(f"{len(queries)} queries but {len(docs)} documents; they must align")
        out = np.empty(len(docs), dtype=np.float32)
        if not docs:
            return out
        uq = list(dict.fromkeys(queries))
        qtok = dict(zip(uq, self.encoder(uq, self.qmax), strict=True))
        dtok = self.encoder(list(docs), self.dmax)
        plan = plan_batches([len(x) for x in dtok], self.token_budget, self.batch_size)
        cuda = self.device.startswith("cuda")
        with torch_threads(None if cuda else self.threads), self._torch.inference_mode():
            for b in plan:
                q, qm = _pad([qtok[queries[i]] for i in b])
                d, dm = _pad([dtok[i] for i in b])
                if cuda:
                    q, qm, d, dm = (t.to(self.device, non_blocking=True) for t in (q, qm, d, dm))
                out[b] = self.model(q, qm, d, dm).float().cpu().numpy()
        return out

    def score_pairs(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """Scores of ``(query, document)`` pairs, in order.

        Example:
            >>> scorer.score_pairs([("q", "d")]).shape   # doctest: +SKIP
            (1,)
        """
        return self.score([p[0] for p in pairs], [p[1] for p in pairs])


class KNRMReranker(TrainedReranker):
    """Reranking stage with KNRM; scores the ``text`` column when present, else looks texts up in ``docs``.

    Example:
        >>> knrm = KNRMReranker.from_dataset("beir/scifact/train", docs=ds.docs)   # doctest: +SKIP
        >>> (bm25 % 100 >> knrm)(ds.queries)                                       # doctest: +SKIP
    """

    def __init__(
        self,
        model: str | Path,
        docs: Any = None,
        batch_size: int | None = None,
        threads: int | None = None,
        verify: bool = True,
        device: str = "auto",
        token_budget: int | None = None,
    ) -> None:
        self.scorer = KNRMScorer(model, batch_size=batch_size, threads=threads, verify=verify, device=device,
                                 token_budget=token_budget)  # fmt: skip
        self.manifest = self.scorer.manifest
        self.docs = as_docstore(docs)
        self.name = f"KNRM({self.manifest.get('name')})"

    default_name = DEFAULT_NAME
    train_model = staticmethod(train_knrm)
    load_model = staticmethod(load_knrm)

    def extra_spec(self) -> dict[str, Any]:
        # CPU specs (and the run checkpoints keyed by them) stay as they were; CUDA float order may differ
        return {"device": self.scorer.device} if self.scorer.device.startswith("cuda") else {}

    #: scores in (-1, 1) (tanh); differentiable; copies scored from kernel tables (CertDR's fast path)
    capabilities = ScoringCapabilities(differentiable=True, fast_smoothing=True, bounded="tanh", kind="knrm")

    def white_box(self) -> Any:
        """The embedding-level view of this KNRM (:class:`irrobust.rankers.white_box.EmbeddingModel`).

        Example:
            >>> emb, grad = knrm.white_box().score_grad("vitamin d", "Vitamin D deficiency")   # doctest: +SKIP
        """
        from irrobust.rankers.white_box import EmbeddingModel

        return EmbeddingModel.from_knrm_scorer(self.scorer)

    def score_token_samples(self, query: str, strings: Any, samples: Any) -> list[np.ndarray]:
        """KNRM scores of token-id copies (:class:`irrobust.rankers.knrm_samples.KNRMTokenSampler`, built once).

        Example:
            >>> knrm.score_token_samples("protein", ["protein", "binding"], [np.array([[0, 1]])])   # doctest: +SKIP
        """
        sampler = self.__dict__.get("_token_sampler")
        if sampler is None or sampler.scorer is not self.scorer:
            from irrobust.rankers.knrm_samples import KNRMTokenSampler

            sampler = self.__dict__["_token_sampler"] = KNRMTokenSampler(self.scorer)
        return sampler.score_token_samples(query, strings, samples)
