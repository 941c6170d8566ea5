"""Noisy training data: one seeded draw from the smoothing distribution per training document."""

from __future__ import annotations

import pytest

from irrobust.certify.noisy import NoisyDataset, NoisyDocs


def test_noisy_docs_are_seeded_draws(scifact, sets):
    docnos = sorted(scifact.docs.docnos)[:6]
    clean = scifact.docs.texts(docnos)
    a = NoisyDocs(scifact.docs, sets, seed=1).texts(docnos)
    assert a == NoisyDocs(scifact.docs, sets, seed=1).texts(list(reversed(docnos)))[::-1]  # per document, seeded
    assert a != NoisyDocs(scifact.docs, sets, seed=2).texts(docnos)
    assert sum(x != " ".join(y.split()) for x, y in zip(a, clean, strict=True)) >= 5
    for x, y in zip(a, clean, strict=True):
        xs, ys = x.split(), y.split()
        assert len(xs) == len(ys)
        for u, v in zip(xs, ys, strict=True):  # every change stays inside the word's smoothing set
            if u != v:
                from irrobust.certify.perturb import split_token

                assert split_token(u)[1].lower() in sets.smoothing_set(split_token(v)[1])


def test_noisy_dataset_has_its_own_checksum(scifact, sets):
    noisy = NoisyDataset(scifact, sets, seed=3)
    assert noisy.docs_checksum != scifact.docs_checksum and noisy.id == scifact.id
    assert noisy.docs_checksum != NoisyDataset(scifact, sets, seed=4).docs_checksum


@pytest.mark.slow
def test_train_small_noisy_knrm(sets, tmp_path):
    import irrobust as ir
    from irrobust.index.models import check_model_dir
    from irrobust.rankers.knrm import KNRMConfig, KNRMScorer, train_knrm

    cfg = KNRMConfig(max_queries=30, epochs=1, threads=1, seed=0)
    train = ir.dataset("beir/scifact/train")
    path = train_knrm(NoisyDataset(train, sets, 0), config=cfg, directory=tmp_path / "m", progress=False)
    manifest = check_model_dir(path, "knrm")
    assert manifest["train_triples"] > 0
    assert manifest["docs_checksum"] == NoisyDataset(train, sets, 0).docs_checksum != train.docs_checksum
    assert KNRMScorer(path, threads=1).score("vitamin d", ["vitamin d deficiency", "plate tectonics"]).shape == (2,)


def test_train_tiny_noisy_cross_encoder_on_noisy_documents(sets, tmp_path):
    import functools
    import json

    import irrobust as ir
    from irrobust.certify.noisy import train_noisy
    from irrobust.rankers.cross_encoder import CrossEncoderConfig, train_cross_encoder
    from irrobust.rankers.training import NegativesConfig

    train = ir.dataset("beir/scifact/train")
    cfg = CrossEncoderConfig(max_queries=6, max_length=64, negatives=NegativesConfig(n_neg=1, depth=20), seed=0,
                             threads=1)  # fmt: skip
    noisy = train_noisy(functools.partial(train_cross_encoder, directory=tmp_path / "noisy"), train, sets, 0,
                        "ce-noisy-test", cfg, progress=False)  # fmt: skip
    clean = train_cross_encoder(train, config=cfg, directory=tmp_path / "clean", progress=False)
    m_noisy, m_clean = (json.loads((p / "manifest.json").read_text()) for p in (noisy, clean))
    assert m_noisy["docs_checksum"] == NoisyDataset(train, sets, 0).docs_checksum != m_clean["docs_checksum"]
    # same queries, negatives and seed: only the substituted documents make the weights differ
    assert m_noisy["train_groups"] == m_clean["train_groups"]
    assert m_noisy["files"]["model.safetensors"] != m_clean["files"]["model.safetensors"]


def test_noisy_model_names_follow_settings(sets):
    """The default name only for default training settings and sets; other settings never share its directory."""
    from irrobust.certify.noisy import NOISY_KNRM, noisy_name
    from irrobust.certify.perturb import PerturbationSets
    from irrobust.rankers.knrm import KNRMConfig

    assert noisy_name(NOISY_KNRM, KNRMConfig(seed=5), sets) == NOISY_KNRM
    table = {"big": ["large"]}
    names = {noisy_name(NOISY_KNRM, KNRMConfig(epochs=1), sets),
             noisy_name(NOISY_KNRM, KNRMConfig(), PerturbationSets(table, neighbours=5)),
             noisy_name(NOISY_KNRM, KNRMConfig(), PerturbationSets(table, max_set=50))}
    assert len(names) == 3 and NOISY_KNRM not in names
