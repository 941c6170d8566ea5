"""How the neighbour cut shapes CertDR's perturbation sets on a collection (the figures of docs/certify.md).

For each ``--neighbours`` value (``all`` = every table neighbour): the largest component of the synonym graph,
the words with overlap q_w < 1 (divided words whose synonyms have other smoothing sets), and the TV bound
δ_d(all words) over a seeded sample of the collection's documents.

    .venv/bin/python scripts/certify_graph_stats.py --dataset beir/scifact/test --neighbours all 6 5

Example:
    >>> main(["--neighbours", "5"])   # doctest: +SKIP
    0
"""

from __future__ import annotations

import argparse

import numpy as np


def main(argv: list[str] | None = None) -> int:
    """Print one line of graph statistics per neighbour cut.

    Example:
        >>> main(["--neighbours", "all"])   # doctest: +SKIP
        0
    """
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="beir/scifact/test")
    ap.add_argument("--neighbours", nargs="+", default=["all", "6", "5"], help="k values, or 'all'")
    ap.add_argument("--max-set", type=int, default=100, help="the cap M")
    ap.add_argument("--docs", type=int, default=300, help="documents sampled for the δ_d statistics")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import irrobust as ir
    from irrobust.certify.perturb import PerturbationSets, corpus_word_counts
    from irrobust.data.synonyms import load_counterfitted

    ds = ir.dataset(args.dataset)
    texts = [t for _, t in ds.docs.iter()]
    counts, table = corpus_word_counts(texts), load_counterfitted()
    rng = np.random.default_rng(args.seed)
    sample = [texts[i] for i in rng.choice(len(texts), min(args.docs, len(texts)), replace=False)]
    print(f"{args.dataset}: M = {args.max_set}, mutual graph, δ_d over {len(sample)} documents (seed {args.seed})")
    for k in args.neighbours:
        sets = PerturbationSets(table, counts, max_set=args.max_set, neighbours=None if k == "all" else int(k))
        delta = np.array([sets.delta(t) for t in sample])
        print(f"neighbours {k:>3}: largest component {sets.summary()['largest_component']:5d}   "
              f"words with q_w < 1 {int((sets.q < 1).sum()):5d}   median δ_d(all) {np.median(delta):.2f}   "
              f"δ_d < 0.1: {np.mean(delta < 0.1):.0%}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
