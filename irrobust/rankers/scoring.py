"""Fast cross-encoder scoring of (query, document) pairs, on the CPU or a CUDA GPU.

A :class:`CrossEncoderScorer` wraps a BERT-style sequence-classification model (one logit;
``transformers.AutoModelForSequenceClassification`` + a fast tokenizer) and scores plain lists of
pairs. It is the engine of the cross-encoder reranker and of the attacks and certificates, which
score thousands of perturbed copies of documents, so it is built for throughput:

* the whole list is tokenized once (Rust tokenizer, one call), truncated exactly as
  ``sentence_transformers.CrossEncoder`` does (``truncation="longest_first"`` at the model's
  ``model_max_length``);
* pairs are sorted by token length and packed into dynamic batches bounded by a token budget
  (``batch_size × padded_length <= token_budget``; :func:`irrobust.util.batching.plan_batches`, the helper KNRM and
  the dense encoder share), so there is almost no padding;
* inference runs under ``torch.inference_mode()`` on ``device`` (``auto``: CUDA when available), with the
  thread count set to the available CPUs on the CPU;
* scores come back in the caller's order, optionally through a sigmoid (the default, as
  ``CrossEncoder.predict`` for a 1-logit model) and an optional LRU cache keyed by
  (model id, query, sha1 of the document text).

Precision modes (``precision=``):

* ``"fp32"`` — exact: equals ``CrossEncoder.predict`` up to float rounding (|Δ| < 1e-4).
* ``"bf16"`` — model weights cast to bfloat16; ``"bf16-autocast"`` — fp32 weights under
  ``torch.autocast("cpu", torch.bfloat16)``. Only fast on CPUs with native bf16 (AVX512-BF16/AMX);
  elsewhere oneDNN emulates it and it is *slower* than fp32.
* ``"int8"`` — dynamic int8 quantization of the encoder's linear layers (weights int8, activations
  quantized per batch; ``torch.ao.quantization.quantize_dynamic``), fast on AVX2/VNNI CPUs.
* ``"fast"`` — ``"bf16"`` if the CPU has native bf16, else ``"int8"`` (see :func:`resolve_precision`).
* ``"auto"`` (the default) — ``"fp32"`` on the CPU (exact, as before); on CUDA, mixed precision: autocast to
  bf16 (fp16 on GPUs without bf16) with fp32 weights, and a larger token budget per forward pass.

Example:
    >>> scorer = CrossEncoderScorer("indexes/beir/scifact/models/ce-minilm")   # doctest: +SKIP
    >>> scorer.score("vitamin d prevents fractures", ["Vitamin D ...", "Unrelated ..."])  # doctest: +SKIP
    array([0.93, 0.02], dtype=float32)
"""

from __future__ import annotations

import contextlib
import hashlib
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from irrobust.errors import ModelError
from irrobust.util.batching import plan_batches
from irrobust.util.compute import cuda_autocast_dtype, default_threads, resolve_device

PRECISIONS = ("auto", "fp32", "bf16", "bf16-autocast", "int8", "fast")
#: default token budget per forward pass on a CUDA device (the CPU default is the constructor's)
CUDA_TOKEN_BUDGET = 131072
#: calls scoring at least this many pairs show a progress bar
PROGRESS_MIN_PAIRS = 2000


def cpu_has_native_bf16() -> bool:
    """True if this CPU executes bfloat16 matmuls natively (AVX512-BF16 or AMX), as oneDNN reports.

    Example:
        >>> isinstance(cpu_has_native_bf16(), bool)
        True
    """
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover (torch without mkldnn)
        return False


def resolve_precision(precision: str, device: str = "cpu") -> str:
    """Map ``"auto"`` and ``"fast"`` to a concrete mode for ``device``; validate the others.

    On the CPU ``"auto"`` is exact ``"fp32"`` and ``"fast"`` the fastest low-precision mode of this CPU; on CUDA
    both are ``"autocast"`` (bf16, or fp16 without bf16 support). ``"int8"`` is CPU-only.

    Example:
        >>> resolve_precision("fast") in ("bf16", "int8")
        True
        >>> resolve_precision("auto")
        'fp32'
    """
    if precision not in PRECISIONS:
        raise ModelError(f"unknown precision {precision!r}; choose one of {list(PRECISIONS)}")
    cuda = device.startswith("cuda")
    if precision in ("auto", "fast"):
        if cuda:
            return "autocast"
        return "fp32" if precision == "auto" else ("bf16" if cpu_has_native_bf16() else "int8")
    if cuda and precision == "int8":
        raise ModelError("precision 'int8' (dynamic quantization) runs on the CPU only; use auto on CUDA")
    if cuda and precision == "bf16-autocast":
        return "autocast"
    return precision


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Temporarily set torch's intra-op thread count (``None``: leave it).

    Example:
        >>> with torch_threads(1):
        ...     pass
    """
    import torch

    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class CrossEncoderScorer:
    """Score (query, document) pairs with a 1-logit sequence-classification model, fast and in order.

    Args:
        model: a directory holding ``config.json``, weights and a fast tokenizer (as written by
            :func:`irrobust.rankers.cross_encoder.train_cross_encoder` or ``save_pretrained``).
        precision: ``"auto"`` (exact fp32 on the CPU, mixed precision on CUDA), ``"fp32"``, ``"bf16"``,
            ``"bf16-autocast"``, ``"int8"`` (CPU) or ``"fast"``.
        max_length: truncation length in tokens (default: the tokenizer's ``model_max_length``,
            capped at the model's position embeddings, as ``CrossEncoder`` does).
        token_budget: at most this many (padded) tokens per forward pass (default 8192 on the CPU,
            ``CUDA_TOKEN_BUDGET`` on CUDA).
        max_batch: at most this many pairs per forward pass.
        threads: torch intra-op threads while scoring (default: the CPUs available to the process).
        activation: ``"sigmoid"`` (as ``CrossEncoder.predict``) or ``"none"`` (raw logits).
        cache_size: keep up to this many scores in an LRU cache keyed by (model id, query, sha1(doc)); 0 = off.
        model_id: the cache's model key (default: the weights' sha256 from the manifest, else the path).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        loaded: an already loaded ``(model, fast tokenizer)`` pair to use instead of reading ``model`` (which then
            only names it), e.g. the parts of a sentence-transformers ``CrossEncoder``.

    Example:
        >>> s = CrossEncoderScorer("indexes/beir/scifact/models/ce-minilm", precision="fast")  # doctest: +SKIP
        >>> s.score_pairs([("q", "d1"), ("q", "d2")]).shape                                   # doctest: +SKIP
        (2,)
    """

    def __init__(
        self,
        model: str | Path,
        precision: str = "auto",
        max_length: int | None = None,
        token_budget: int | None = None,
        max_batch: int = 128,
        threads: int | None = None,
        activation: str = "sigmoid",
        cache_size: int = 0,
        model_id: str | None = None,
        device: str = "auto",
        loaded: tuple[Any, Any] | None = None,
    ) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.path = Path(model)
        if loaded is None and not (self.path / "config.json").is_file():
            raise ModelError("not a model directory (no config.json)", where=str(self.path))
        if activation not in ("sigmoid", "none"):
            raise ModelError(f"activation must be 'sigmoid' or 'none', got {activation!r}")
        self.device = resolve_device(device, where="cross_encoder.device")
        if token_budget is None:
            token_budget = CUDA_TOKEN_BUDGET if self.device.startswith("cuda") else 8192
        if token_budget < 1 or max_batch < 1:
            raise ModelError(f"token_budget and max_batch must be positive, got {token_budget}, {max_batch}")
        self.precision = resolve_precision(precision, self.device)
        if loaded is None:
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.path), use_fast=True)
            # fp32 master weights whatever the saved dtype (an fp16 export stays exact on the CPU; CUDA autocasts)
            model_obj = AutoModelForSequenceClassification.from_pretrained(str(self.path), dtype=torch.float32)
        else:  # a model loaded elsewhere (sentence-transformers' CrossEncoder, see cross_encoder.load_external)
            model_obj, self.tokenizer = loaded[0].float(), loaded[1]
        if not getattr(self.tokenizer, "is_fast", False):
            raise ModelError("the model's tokenizer has no fast (Rust) implementation", where=str(self.path))
        if model_obj.config.num_labels != 1:
            raise ModelError(
                f"expected a 1-logit ranking model, got num_labels={model_obj.config.num_labels}", where=str(self.path)
            )
        model_obj.eval()
        limit = getattr(model_obj.config, "max_position_embeddings", None) or 512
        tmax = self.tokenizer.model_max_length if self.tokenizer.model_max_length < 1_000_000 else limit
        self.max_length = int(max_length or min(tmax, limit))
        self.token_budget, self.max_batch = int(token_budget), int(max_batch)
        self.threads = threads if threads is not None else default_threads()
        self.activation = activation
        if self.precision == "bf16":
            model_obj = model_obj.to(torch.bfloat16)
        elif self.precision == "int8":
            model_obj = _quantize_int8(model_obj)
        self.model = model_obj.to(self.device)
        self.pad_id = int(self.tokenizer.pad_token_id or 0)
        self.model_id = model_id or _model_id(self.path)
        self.cache_size = int(cache_size)
        self._cache: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self.stats = {"pairs": 0, "cache_hits": 0, "forward_tokens": 0, "real_tokens": 0}
        self.progress = True  # progress bar for calls with at least PROGRESS_MIN_PAIRS pairs

    # ---------------------------------------------------------------------------------------
    def score(self, query: str | Sequence[str], docs: Sequence[str]) -> np.ndarray:
        """Scores of ``docs`` for one query (a string) or for aligned lists of queries and docs.

        Example:
            >>> scorer.score("q", ["d1", "d2"]).dtype   # doctest: +SKIP
            dtype('float32')
        """
        queries = [query] * len(docs) if isinstance(query, str) else list(query)
        if len(queries) != len(docs):
            raise ModelError(f"{len(queries)} queries but {len(docs)} documents; they must align")
        return self._score(queries, list(docs))

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Scores of a list of ``(query, document)`` pairs, in order (float32).

        Example:
            >>> scorer.score_pairs([("q", "d")]).shape   # doctest: +SKIP
            (1,)
        """
        return self._score([p[0] for p in pairs], [p[1] for p in pairs])

    # ---------------------------------------------------------------------------------------
    def _score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        n = len(docs)
        out = np.empty(n, dtype=np.float32)
        if n == 0:
            return out
        todo = np.arange(n)
        keys: list[tuple[str, str, str]] = []
        if self.cache_size:
            keys = [(self.model_id, q, _sha1(d)) for q, d in zip(queries, docs, strict=True)]
            hit = np.zeros(n, dtype=bool)
            for i, k in enumerate(keys):
                v = self._cache.get(k)
                if v is not None:
                    out[i] = v
                    hit[i] = True
                    self._cache.move_to_end(k)
            self.stats["cache_hits"] += int(hit.sum())
            todo = np.flatnonzero(~hit)
        if len(todo):
            scores = self._forward_all([queries[i] for i in todo], [docs[i] for i in todo])
            out[todo] = scores
            if self.cache_size:
                for i, s in zip(todo, scores, strict=True):
                    self._cache[keys[i]] = float(s)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        self.stats["pairs"] += n
        return out

    def _forward_all(self, queries: list[str], docs: list[str]) -> np.ndarray:
        import torch

        enc = self.tokenizer(
            queries,
            docs,
            truncation="longest_first",
            max_length=self.max_length,
            return_attention_mask=False,
            return_token_type_ids=True,
        )
        ids, types = enc["input_ids"], enc["token_type_ids"]
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        logits = np.empty(len(ids), dtype=np.float32)
        cuda = self.device.startswith("cuda")
        if self.precision == "autocast":
            autocast = torch.autocast("cuda", dtype=cuda_autocast_dtype(self.device))
        elif self.precision == "bf16-autocast":
            autocast = torch.autocast("cpu", dtype=torch.bfloat16)
        else:
            autocast = contextlib.nullcontext()
        pending: list[tuple[np.ndarray, Any]] = []  # CUDA: copy logits back once, after every batch is queued
        with torch_threads(None if cuda else self.threads), torch.inference_mode(), autocast:
            batches = plan_batches(lengths, self.token_budget, self.max_batch)
            show = self.progress and len(ids) >= PROGRESS_MIN_PAIRS
            for batch in tqdm(batches, desc="cross-encoder", unit="batch", disable=not show, leave=False):
                width = int(lengths[batch[0]])
                input_ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
                token_types = np.zeros((len(batch), width), dtype=np.int64)
                mask = np.zeros((len(batch), width), dtype=np.int64)
                for row, i in enumerate(batch):
                    m = lengths[i]
                    input_ids[row, :m] = ids[i]
                    token_types[row, :m] = types[i]
                    mask[row, :m] = 1
                out = self.model(
                    input_ids=torch.from_numpy(input_ids).to(self.device, non_blocking=True),
                    attention_mask=torch.from_numpy(mask).to(self.device, non_blocking=True),
                    token_type_ids=torch.from_numpy(token_types).to(self.device, non_blocking=True),
                ).logits
                if cuda:
                    pending.append((batch, out[:, 0].float()))
                else:
                    logits[batch] = out[:, 0].float().numpy()
                self.stats["forward_tokens"] += input_ids.size
                self.stats["real_tokens"] += int(lengths[batch].sum())
            for batch, values in pending:
                logits[batch] = values.cpu().numpy()
        if self.activation == "sigmoid":
            return (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)
        return logits

    def clear_cache(self) -> None:
        """Empty the score cache.

        Example:
            >>> scorer.clear_cache()   # doctest: +SKIP
        """
        self._cache.clear()

    def encoder_flops(self, tokens_per_seq: Sequence[int]) -> float:
        """Approximate forward FLOPs for sequences of the given lengths.

        2 × (parameters in the encoder layers) per token, plus attention (QKᵀ and AV:
        4 × L² × hidden per layer per sequence). Embeddings, pooler and head are ignored.

        Example:
            >>> scorer.encoder_flops([256]) > 1e9   # doctest: +SKIP
            True
        """
        cfg = self.model.config
        base = getattr(self.model, "base_model", self.model)
        enc = getattr(base, "encoder", None)
        if enc is None:
            raise ModelError("cannot find the encoder to count FLOPs")
        params = _encoder_param_count(enc, cfg)
        lens = np.asarray(tokens_per_seq, dtype=np.float64)
        return float(2.0 * params * lens.sum() + cfg.num_hidden_layers * 4.0 * cfg.hidden_size * (lens**2).sum())


def _encoder_param_count(encoder: Any, cfg: Any) -> int:
    """Weights in the encoder layers (from the config, so int8-packed modules count the same)."""
    h, i = cfg.hidden_size, cfg.intermediate_size
    per_layer = 4 * h * h + 4 * h + 2 * h * i + h + i + 4 * h  # QKV+O (+bias), FFN (+bias), 2 LayerNorms
    return int(cfg.num_hidden_layers * per_layer)


def _quantize_int8(model: Any) -> Any:
    """Dynamic int8 quantization of the encoder's ``nn.Linear`` layers (head and pooler stay fp32)."""
    import torch

    base = getattr(model, "base_model", model)
    if getattr(base, "encoder", None) is None:
        raise ModelError("int8 mode needs a BERT-style model with an .encoder")
    engines = torch.backends.quantized.supported_engines
    if "fbgemm" in engines or "x86" in engines:
        torch.backends.quantized.engine = "x86" if "x86" in engines else "fbgemm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base.encoder = torch.ao.quantization.quantize_dynamic(base.encoder, {torch.nn.Linear}, dtype=torch.qint8)
    return model


def _model_id(path: Path) -> str:
    import json

    try:
        manifest = json.loads((path / "manifest.json").read_text())
        files = manifest.get("files", {})
        weights = files.get("model.safetensors")
        if weights:
            return f"sha256:{weights}"
    except (OSError, ValueError):
        pass
    return f"path:{path.resolve()}"
