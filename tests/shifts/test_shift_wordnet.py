"""WordNet 3.0 set-up (Debian files → NLTK data dir) and the WordNet synonym shift."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from irrobust.errors import IrrobustError
from irrobust.shifts import Synonyms
from irrobust.shifts.text import is_stop_word, split_token
from irrobust.shifts.wordnet import (
    DEBIAN_WORDNET_DIR,
    LEXNAMES,
    WORDNET_FILES,
    build_nltk_wordnet,
    lexnames_text,
    load_wordnet,
    missing_wordnet_files,
    wordnet_synonyms,
)

ROOT = Path(__file__).resolve().parents[2]
needs_wordnet = pytest.mark.skipif(
    bool(missing_wordnet_files(DEBIAN_WORDNET_DIR)),
    reason="WordNet not installed: run scripts/setup_wordnet.sh as root",
)


def test_lexnames_file_format() -> None:
    lines = lexnames_text().splitlines()
    assert len(lines) == 45
    assert lines[0] == "00\tadj.all\t3" and lines[3] == "03\tnoun.Tops\t1" and lines[28] == "28\tnoun.time\t1"
    assert lines[29] == "29\tverb.body\t2" and lines[43] == "43\tverb.weather\t2" and lines[44] == "44\tadj.ppl\t3"
    for i, line in enumerate(lines):
        num, name, cat = line.split("\t")
        assert int(num) == i
        assert {"adj": "3", "adv": "4", "noun": "1", "verb": "2"}[name.split(".")[0]] == cat


@needs_wordnet
def test_lexnames_agree_with_the_wordnet_data_files() -> None:
    # every synset's lex_filenum (2nd field of data.<pos>) must name a lexicographer file of that pos
    pos_cat = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
    for pos, cat in pos_cat.items():
        used = set()
        with open(DEBIAN_WORDNET_DIR / f"data.{pos}", encoding="utf-8") as fh:
            for line in fh:
                if not line.startswith("  "):
                    used.add(int(line.split(" ", 2)[1]))
        assert {LEXNAMES[n][1] for n in used} == {cat}
        assert {LEXNAMES[n][0].split(".")[0] for n in used} == {pos}


@needs_wordnet
def test_build_is_idempotent(tmp_path: Path) -> None:
    target = build_nltk_wordnet(data_dir=tmp_path)
    assert target == tmp_path / "corpora" / "wordnet"
    assert sorted(p.name for p in target.iterdir() if p.name != "irrobust-wordnet.json") == sorted(
        [*WORDNET_FILES, "lexnames"]
    )
    assert (target / "lexnames").read_text() == lexnames_text()
    mtime = (target / "data.noun").stat().st_mtime_ns
    assert build_nltk_wordnet(data_dir=tmp_path) == target
    assert (target / "data.noun").stat().st_mtime_ns == mtime, "an up-to-date build is left alone"
    (target / "lexnames").unlink()
    build_nltk_wordnet(data_dir=tmp_path)
    assert (target / "lexnames").read_text() == lexnames_text(), "a damaged build is rebuilt"


def test_missing_wordnet_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IrrobustError, match="setup_wordnet.sh") as err:
        load_wordnet(data_dir=tmp_path / "nltk", source=tmp_path / "no-wordnet")
    assert "apt-get install wordnet-base wordnet-sense-index" in str(err.value)
    with pytest.raises(IrrobustError, match="index.sense"):
        build_nltk_wordnet(source=tmp_path, data_dir=tmp_path / "nltk")


@needs_wordnet
def test_wordnet_reader_works() -> None:
    wn = load_wordnet()
    assert wn.get_version() == "3.0"
    assert len(wn.synsets("good")) == 27
    assert wn.synsets("dog")[0].lexname() == "noun.animal"
    syns = wordnet_synonyms("effect")
    assert "consequence" in syns and "effect" not in syns
    assert all("_" not in s for s in syns)
    assert "genome" not in wordnet_synonyms("genomes"), "base forms are not synonyms"


@needs_wordnet
def test_wordnet_synonym_shift_uses_wordnet_synonyms(scifact_queries: pd.DataFrame) -> None:
    wn = load_wordnet()
    queries = scifact_queries.head(120)
    out = Synonyms(source="wordnet", rate=0.25, seed=0)(queries)
    swaps = 0
    for orig, new in zip(queries["query"], out["query"], strict=True):
        o_tok, n_tok = orig.split(), new.split()
        assert len(o_tok) == len(n_tok)
        for a, b in zip(o_tok, n_tok, strict=True):
            if a == b:
                continue
            ca, cb = split_token(a)[1], split_token(b)[1]
            assert not is_stop_word(ca)
            # independent check: the two words share a WordNet synset
            assert set(wn.synsets(ca.lower())) & set(wn.synsets(cb.lower())), (ca, cb)
            swaps += 1
    assert swaps >= 120 and out["changed"].mean() > 0.9


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None, reason="needs root to test as non-root")
def test_setup_script_without_root_explains_and_exits_0(tmp_path: Path) -> None:
    proc = subprocess.run(
        ["runuser", "-u", "nobody", "--", "env", f"WORDNET_DIR={tmp_path}/none", "bash",
         str(ROOT / "scripts" / "setup_wordnet.sh")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "not installed" in proc.stdout and "apt-get install" in proc.stdout
