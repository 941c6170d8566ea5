"""The recommender trainers follow ``device`` (issue 15, item 3): ``cuda:N`` maps to RecBole's ``use_gpu`` / ``gpu_id``
(a pure function), the CPU mapping keeps RecBole's ``Config`` away from CUDA, and ``device: cuda`` without CUDA is a
located configuration error (exit code 2 from the CLI)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from irrobust.errors import ConfigError
from irrobust.recsys.config import prepare_recbole_device, recbole_device

NO_CUDA = pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the behaviour without CUDA")


def test_cuda_n_maps_to_gpu_id():
    assert recbole_device("cpu") == {"use_gpu": False, "gpu_id": "", "device": "cpu"}
    assert recbole_device("cuda:0") == {"use_gpu": True, "gpu_id": "0", "device": "cuda:0"}
    assert recbole_device("cuda:3") == {"use_gpu": True, "gpu_id": "3", "device": "cuda:3"}
    assert recbole_device("cuda") == {"use_gpu": True, "gpu_id": "0", "device": "cuda:0"}
    # torch numbers the devices CUDA_VISIBLE_DEVICES lists: cuda:1 of "4,6" is the physical GPU 6
    assert recbole_device("cuda:1", visible="4,6") == {"use_gpu": True, "gpu_id": "6", "device": "cuda:1"}
    assert recbole_device("cuda:0", visible=" 2 , 5")["gpu_id"] == "2"
    assert recbole_device("cuda:2", visible="")["gpu_id"] == "2"  # empty: torch sees every GPU
    assert recbole_device("cpu", visible="4,6")["gpu_id"] == ""
    with pytest.raises(ConfigError, match="recsys.device.*lists 2 device"):
        recbole_device("cuda:2", visible="4,6")
    assert prepare_recbole_device("cpu") == recbole_device("cpu")


def test_recbole_config_on_the_cpu_asks_nothing_of_cuda(tmp_path, monkeypatch):
    """With the CPU mapping RecBole's ``Config`` trains on the CPU without starting CUDA (its default gpu_id "0" would
    ask ``torch.cuda.is_available()`` with only GPU 0 visible), and the sandbox restores ``$CUDA_VISIBLE_DEVICES``."""
    import torch
    from recbole.config import Config

    from irrobust.recsys.sandbox import recbole_sandbox

    def no_cuda_please():
        raise AssertionError("RecBole asked CUDA")

    monkeypatch.setattr(torch.cuda, "is_available", no_cuda_please)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "7")
    settings = recbole_device("cpu")
    with recbole_sandbox(tmp_path / "rb"):
        cfg = Config(model="Pop", dataset="dev", config_dict={"data_path": str(tmp_path), "use_gpu":
                     settings["use_gpu"], "gpu_id": settings["gpu_id"]})  # fmt: skip
    assert cfg["device"] == torch.device("cpu") and cfg["use_gpu"] is False
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "7"
    with recbole_sandbox(tmp_path / "rb2"), pytest.raises(AssertionError, match="asked CUDA"):
        Config(model="Pop", dataset="dev", config_dict={"data_path": str(tmp_path), "use_gpu": False})  # its default


@NO_CUDA
def test_recsys_device_cuda_without_cuda_is_exit_2(tmp_path):
    p = tmp_path / "rs.yaml"
    p.write_text("kind: recsys\nname: dev\nseed: 1\nrecsys:\n  dataset: ml-100k\n  rhos: [0.0]\n  n_seeds: 1\n"
                 "  epochs: 1\n  device: 'cuda:1'\n")  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "irrobust.cli", "validate", str(p)], capture_output=True, text=True,
                          cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "recsys.device" in done.stderr and "no CUDA device" in done.stderr and "Traceback" not in done.stderr
    with pytest.raises(ConfigError, match="recsys.device.*no CUDA device"):
        prepare_recbole_device("cuda")
