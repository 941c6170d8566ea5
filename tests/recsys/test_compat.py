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


def test_recbole_torch_load_is_the_safe_default(tmp_path):
    """Issue 17: RecBole's torch.load is the real one (weights_only=True by default), so a pickled object in a .pth
    is refused; irrobust no longer relaxes it (the old proxy defaulted RecBole's loads to weights_only=False)."""
    import recbole.trainer.trainer as rt

    assert rt.torch is torch and rt.torch.load is torch.serialization.load

    class Evil:
        def __reduce__(self):
            return (print, ("unpickled",))

    ckpt = tmp_path / "planted.pth"
    torch.save({"x": Evil()}, ckpt)
    with pytest.raises(Exception, match="[Ww]eights only load failed"):
        rt.torch.load(ckpt)


def test_importing_recbole_modules_does_not_import_ray():
    code = (
        "import sys, irrobust.recsys.compat as c\n"
        "import recbole.model.general_recommender.neumf as m\n"
        "import recbole.trainer.trainer as t\n"
        "import torch; assert t.torch is torch and torch.load is torch.serialization.load\n"
        "assert 'ray' not in sys.modules, 'ray imported'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")
