"""Loading the staged datasets and the reusable atomic-file converter (checked by RecBole itself)."""

from __future__ import annotations

import pytest

from irrobust.errors import DataError
from irrobust.recsys.data import convert_interactions, load_interactions, read_interactions


def test_ml100k_all_ratings_are_interactions(ml100k):
    assert len(ml100k) == 100_000
    assert ml100k.user.nunique() == 943 and ml100k.item.nunique() == 1682
    assert list(ml100k.columns) == ["user", "item", "timestamp"]


def test_lastfm_merges_train_and_test(lastfm):
    # 42,135 train + 10,533 test pairs, disjoint (MANIFEST)
    assert len(lastfm) == 42_135 + 10_533
    assert lastfm.user.nunique() == 1880
    assert not lastfm.duplicated(["user", "item"]).any()


def test_lastfm_without_seed_dir_is_a_data_error():
    with pytest.raises(DataError, match="seed directory"):
        load_interactions("lastfm", seed=None)


def test_ml100k_without_seed_or_download_dir_is_a_data_error():
    with pytest.raises(DataError):
        load_interactions("ml-100k", seed=None, download_dir=None)


def test_converter_roundtrip_through_recbole(ml100k, tmp_path):
    """A user's own CSV log (custom column names) -> atomic file -> RecBole loads the same interactions."""
    from recbole.config import Config
    from recbole.data import create_dataset

    from irrobust.recsys.sandbox import recbole_sandbox

    sub = ml100k[ml100k.user.isin(ml100k.user.unique()[:50])]
    src = tmp_path / "mylog.csv"
    sub.rename(columns={"user": "customer", "item": "product", "timestamp": "ts"}).to_csv(src, index=False)
    path = convert_interactions(src, tmp_path / "data", "mylog", "customer", "product", "ts")
    assert path == tmp_path / "data" / "mylog" / "mylog.inter"
    assert path.read_text().splitlines()[0] == "user_id:token\titem_id:token\ttimestamp:float"
    with recbole_sandbox(tmp_path / "rb"):
        cfg = Config(
            model="Pop",
            dataset="mylog",
            config_dict={
                "data_path": str(tmp_path / "data"),
                "use_gpu": False,
                "load_col": {"inter": ["user_id", "item_id"]},
            },
        )
        ds = create_dataset(cfg)
    assert ds.inter_num == len(sub)
    assert ds.user_num - 1 == sub.user.nunique()  # RecBole reserves id 0 for padding
    assert ds.item_num - 1 == sub.item.nunique()


def test_read_interactions_errors(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="missing column"):
        read_interactions(p, "user", "item")
    with pytest.raises(DataError, match="not found"):
        read_interactions(tmp_path / "nope.csv")
    p.write_text("user,item,t\n1,2,x\n")
    with pytest.raises(DataError, match="non-numeric"):
        read_interactions(p, timestamp_col="t")
