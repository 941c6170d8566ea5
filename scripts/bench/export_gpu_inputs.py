"""Export what ``bench_gpu.py`` needs into one small folder that can travel to a GPU machine (< 64 MiB).

The folder holds:

* ``model/``: a MiniLM-L6 cross-encoder saved in fp16 (``--model DIR``: any sentence-transformers /
  Hugging Face 1-logit model directory, e.g. irrobust's trained ``ce-minilm``; default: the trained SciFact
  ``ce-minilm`` if it exists, else all-MiniLM-L6-v2 with a fresh seeded 1-logit head — the speed is the same,
  and both implementations score the same weights, so agreement is still measured);
* ``queries.jsonl`` (qid, query), ``docs.jsonl.gz`` (docno, text) and ``run.tsv`` (qid, docno, BM25 score):
  real SciFact test queries and their BM25 top ``--depth`` documents;
* ``qrels.tsv`` (qid, docno, label) for nDCG@10; ``export.json`` with the settings.

    .venv/bin/python scripts/bench/export_gpu_inputs.py --out gpu_inputs --queries 300 --depth 100
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path


def export(out: Path, queries: int, depth: int, model: str | None = None, max_length: int = 256) -> Path:
    """Write the folder described above; return it.

    Example:
        >>> export(Path("gpu_inputs"), queries=2, depth=5)   # doctest: +SKIP
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    import irrobust as ir
    from irrobust.index.models import minilm_path, model_dir

    out.mkdir(parents=True, exist_ok=True)
    trained = model_dir("beir/scifact", "ce-minilm")
    source = Path(model) if model else (trained if (trained / "manifest.json").is_file() else None)
    torch.manual_seed(0)
    if source is None:
        net = AutoModelForSequenceClassification.from_pretrained(str(minilm_path()), num_labels=1)
        tok = AutoTokenizer.from_pretrained(str(minilm_path()))
        origin = "all-MiniLM-L6-v2 + fresh 1-logit head (seed 0)"
    else:
        net = AutoModelForSequenceClassification.from_pretrained(str(source))
        tok = AutoTokenizer.from_pretrained(str(source))
        origin = str(source)
    tok.model_max_length = max_length
    net.half().save_pretrained(str(out / "model"))
    tok.save_pretrained(str(out / "model"))

    ds = ir.dataset("beir/scifact/test")
    qs = ds.queries.sort_values("qid").head(queries)
    run = ir.BM25(ir.lucene_index(ds.collection), k=depth)(qs)
    with open(out / "queries.jsonl", "w", encoding="utf-8") as fh:
        for qid, text in zip(qs["qid"], qs["query"], strict=True):
            fh.write(json.dumps({"qid": str(qid), "query": str(text)}) + "\n")
    docnos = sorted(set(run["docno"].astype(str)))
    with gzip.open(out / "docs.jsonl.gz", "wt", encoding="utf-8") as fh:
        for docno, text in zip(docnos, ds.docs.texts(docnos), strict=True):
            fh.write(json.dumps({"docno": docno, "text": text}) + "\n")
    run[["qid", "docno", "score"]].to_csv(out / "run.tsv", sep="\t", index=False, header=False)
    qrels = ds.qrels[ds.qrels["qid"].isin(qs["qid"])]
    qrels[["qid", "docno", "label"]].to_csv(out / "qrels.tsv", sep="\t", index=False, header=False)
    (out / "export.json").write_text(json.dumps({
        "dataset": "beir/scifact/test", "queries": int(len(qs)), "depth": depth, "pairs": int(len(run)),
        "documents": len(docnos), "model": origin, "max_length": max_length, "dtype": "float16",
    }, indent=2))  # fmt: skip
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"exported {len(run)} pairs ({len(qs)} queries x top {depth}), {len(docnos)} documents, "
          f"model {origin}: {size / 2**20:.1f} MiB in {out}")  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder to write (inside the working tree to travel)")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--depth", type=int, default=100)
    ap.add_argument("--model", help="cross-encoder directory (default: trained ce-minilm, else MiniLM + fresh head)")
    ap.add_argument("--max-length", type=int, default=256)
    args = ap.parse_args(argv)
    export(Path(args.out), args.queries, args.depth, args.model, args.max_length)
    return 0


if __name__ == "__main__":
    sys.exit(main())
