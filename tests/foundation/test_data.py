"""Datasets by ID from the staged copies, their quirks, and stale-cache protection."""

from __future__ import annotations

import subprocess
import sys

import pytest

import irrobust as ir
from irrobust.data.classic import cranfield_gain
from irrobust.data.seed import RECIPES, ensure_seeded
from irrobust.errors import DataError


def test_beir_splits_have_published_sizes(seed):
    test, train = ir.dataset("beir/scifact/test"), ir.dataset("beir/scifact/train")
    assert (len(test.queries), len(test.qrels), len(test.docs)) == (300, 339, 5183)
    assert (len(train.queries), len(train.qrels)) == (809, 919)
    nf = ir.dataset("beir/nfcorpus/test")
    assert (len(nf.queries), len(nf.qrels), len(nf.docs)) == (323, 12334, 3633)
    assert set(nf.qrels.label) == {1, 2}
    assert test.collection == train.collection == "beir/scifact"
    assert test.docs.text("4983").startswith("Microstructural development of human newborn cerebral white matter")


def test_classic_collections_load_with_quirks_handled(seed):
    cran = ir.dataset("cranfield")
    assert (len(cran.queries), len(cran.docs)) == (225, 1400)
    # cran.qry numbers its third query "004"; the qrels call it 3 (file order).
    q3 = cran.queries.set_index("qid").loc["3", "query"]
    assert q3.startswith("what problems of heat conduction in composite slabs")
    # "1 184 2" in cranqrel: grade 2 (high relevance) becomes gain 3; -1 rows become 0.
    row = cran.qrels[(cran.qrels.qid == "1") & (cran.qrels.docno == "184")]
    assert row.label.item() == cranfield_gain(2) == 3
    assert cran.qrels.label.min() == 0 and cran.qrels.label.max() == 4
    cacm, cisi, vas = ir.dataset("cacm"), ir.dataset("cisi"), ir.dataset("vaswani")
    assert "1" in set(cacm.qrels.qid) and "01" not in set(cacm.qrels.qid)
    assert (len(cacm.docs), len(cacm.queries)) == (3204, 52)
    assert (len(cisi.docs), len(cisi.queries), len(cisi.qrels)) == (1460, 76, 3114)
    assert (len(vas.docs), len(vas.queries), len(vas.qrels)) == (11429, 93, 2083)
    for ds in (cran, cacm, cisi, vas):
        ds.validate()
        assert ds.queries["query"].str.len().min() > 0


def test_unknown_dataset_is_a_clear_error():
    with pytest.raises(DataError, match=r"unknown dataset ID 'beir/scifakt/test'.*did you mean beir/scifact/test"):
        ir.dataset("beir/scifakt/test")


def test_reseeding_wipes_a_stale_cache(tmp_path, seed):
    src = tmp_path / "seed" / "cranfield"
    src.mkdir(parents=True)
    for f in ("cran.all.1400", "cran.qry", "cranqrel"):
        (src / f).write_bytes((seed / "cranfield" / f).read_bytes())
    home = tmp_path / "irds"
    first = ensure_seeded("cranfield", seed=tmp_path / "seed", irds_home=home)
    stale = home / "cranfield" / "docs.pklz4"
    stale.mkdir()  # stands for ir_datasets' docstore built from the old corpus
    assert ensure_seeded("cranfield", seed=tmp_path / "seed", irds_home=home) == first and stale.exists()
    (src / "cran.all.1400").write_bytes((src / "cran.all.1400").read_bytes().replace(b"experimental", b"EXPERIMENTAL"))
    second = ensure_seeded("cranfield", seed=tmp_path / "seed", irds_home=home)
    assert second != first and not stale.exists()
    assert b"EXPERIMENTAL" in (home / "cranfield" / "docs.txt").read_bytes()


CHILD = """
import sys, irrobust as ir
ds = ir.dataset("cranfield")
print(ds.docs.text("1")[:40])
"""


def test_changed_corpus_is_not_served_from_cache(isolated_env):
    run = lambda: subprocess.run([sys.executable, "-c", CHILD], env=isolated_env, capture_output=True, text=True,  # noqa: E731
                                 check=True).stdout.strip()  # fmt: skip
    assert run().startswith("experimental investigation")
    corpus = isolated_env["IRROBUST_SEED_DIR"] + "/cranfield/cran.all.1400"
    with open(corpus, "rb") as fh:
        data = fh.read()
    with open(corpus, "wb") as fh:
        fh.write(data.replace(b"experimental investigation", b"changed investigation", 1))
    assert run().startswith("changed investigation")


CORRUPT = """
import irrobust as ir
ds = ir.dataset("cacm")
ds.validate()
"""


@pytest.mark.parametrize("line, message", [("01 999999 0 0\n", "document '999999' is not in the collection"),
                                           ("01 notanumber 0 0\n", "ids must be numbers")])  # fmt: skip
def test_corrupt_qrels_are_reported(isolated_env, line, message):
    qrels = isolated_env["IRROBUST_SEED_DIR"] + "/cacm/qrels.text"
    with open(qrels, "a") as fh:
        fh.write(line)
    proc = subprocess.run([sys.executable, "-c", CORRUPT], env=isolated_env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "DataError" in proc.stderr and message in proc.stderr and "cacm" in proc.stderr
    assert "qrels.text line 797" in proc.stderr  # the appended line, named in the message


def test_staged_collections_pass_the_source_check(seed):
    """The real staged copies load cleanly; their documented quirks are counted (MANIFEST counts)."""
    from irrobust.data.check import check_collection

    expected = {
        "cranfield": {
            "documents": 1400,
            "queries": 225,
            "judgements": 1837,
            "empty_documents": 2,
            "grade_minus_1": 225,
        },
        "cacm": {"documents": 3204, "queries": 64, "judgements": 796, "judged_queries": 52, "control_characters": 2},
        "cisi": {"documents": 1460, "queries": 112, "judgements": 3114, "judged_queries": 76, "empty_documents": 0},
        "vaswani": {"documents": 11429, "queries": 93, "judgements": 2083, "judged_queries": 93},
        "beir/scifact": {"documents": 5183, "queries": 1109, "judgements_train": 919, "judgements_test": 339},
        "beir/nfcorpus": {"documents": 3633, "queries": 3237, "judgements_train": 110575, "judgements_test": 12334},
    }
    for collection, counts in expected.items():
        chk = check_collection(collection, seed, RECIPES[collection].sources)
        assert {k: chk.counts.get(k) for k in counts} == counts, collection
        assert chk.modified == [], collection
    warnings = check_collection("cranfield", seed, RECIPES["cranfield"].sources).warnings
    assert len(warnings) == 1 and "2 empty documents: '471' (line 13470), '995' (line 27712)" in warnings[0]


def test_source_check_is_recorded_and_exposed(seed):
    ds = ir.dataset("cranfield")
    assert ds.source_check["counts"]["empty_documents"] == 2
    assert ds.source_check["modified"] == []
