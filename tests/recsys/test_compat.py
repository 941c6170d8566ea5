"""The numpy-2 / torch.load / scipy compatibility shim."""

from __future__ import annotations

import subprocess
import sys
import types

import numpy as np
import pytest
import torch

from irrobust.recsys import compat


def test_numpy_aliases_restored():
    assert np.float_ is np.float64
    assert np.complex_ is np.complex128
    assert np.unicode_ is np.str_
    assert np.bool8 is np.bool_


def test_aliases_only_set_when_missing():
    sentinel = object()
    fake = types.SimpleNamespace(float_=sentinel, float64="f64", complex128="c128", str_="s", bool_="b")
    added = compat.restore_numpy_aliases(fake)
    assert fake.float_ is sentinel  # an existing attribute is never overwritten
    assert sorted(added) == ["bool8", "complex_", "unicode_"]
    assert (fake.complex_, fake.unicode_, fake.bool8) == ("c128", "s", "b")


def test_scipy_dok_update_restored():
    import scipy.sparse as sp

    a = sp.dok_matrix((3, 3), dtype=np.float32)
    a._update({(0, 2): 1.0, (2, 0): 2.0})
    assert a.toarray()[0, 2] == 1.0 and a.toarray()[2, 0] == 2.0


def test_torch_load_scoped_to_recbole(tmp_path):
    """RecBole's own torch.load reads a checkpoint that pickles its Config; the global torch.load still refuses."""
    import recbole.trainer.trainer as rt
    from recbole.config import Config

    from irrobust.recsys.sandbox import recbole_sandbox

    with recbole_sandbox(tmp_path / "rb"):
        cfg = Config(model="BPR", dataset="ml-100k", config_dict={"data_path": str(tmp_path), "use_gpu": False})
    ckpt = tmp_path / "ck.pth"
    torch.save({"config": cfg, "state_dict": {"w": torch.ones(2)}}, ckpt)

    assert torch.load is torch.serialization.load  # unchanged for the rest of the process
    with pytest.raises(Exception, match="[Ww]eights only load failed"):
        torch.load(ckpt)
    loaded = rt.torch.load(ckpt, map_location="cpu")
    assert loaded["config"]["model"] == "BPR"
    assert torch.equal(loaded["state_dict"]["w"], torch.ones(2))
    assert compat.is_patched(rt)
    assert rt.torch.Tensor is torch.Tensor  # everything else is the real torch


def test_import_hook_patches_later_recbole_modules_without_importing_ray():
    code = (
        "import sys, irrobust.recsys.compat as c\n"
        "import recbole.model.general_recommender.neumf as m\n"
        "import recbole.trainer.trainer as t\n"
        "assert c.is_patched(m) and c.is_patched(t), 'not patched'\n"
        "assert 'ray' not in sys.modules, 'ray imported'\n"
        "import torch; assert torch.load is torch.serialization.load\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")
