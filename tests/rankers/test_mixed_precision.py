"""Mixed-precision training (issue 15, item 3): which precision a trainer picks, CPU training unchanged (plain fp32, no
autocast), and the fp16 gradient-scaler path (its control flow and checkpoint, exercised on the CPU by forcing it)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from irrobust.errors import ConfigError
from irrobust.util.compute import training_precision


def test_precision_selection_with_faked_cuda_capabilities(monkeypatch):
    import torch

    # the pure rule, capabilities given
    assert training_precision("cpu") == "fp32"
    assert training_precision("cuda:0", bf16_supported=True) == "bf16"
    assert training_precision("cuda:3", bf16_supported=False) == "fp16"
    assert training_precision("cuda:0", "fp32", bf16_supported=True) == "fp32"
    assert training_precision("cuda:0", "fp16", bf16_supported=True) == "fp16"
    assert training_precision("cuda:0", bf16_supported=True, mixed_ok=False) == "fp32"  # KNRM
    for device, requested, kwargs, message in (
        ("cpu", "bf16", {}, "CUDA only"),
        ("cpu", "fp16", {}, "CUDA only"),
        ("cuda:0", "bf16", {"bf16_supported": False}, "no bf16"),
        ("cuda:0", "fp16", {"bf16_supported": True, "mixed_ok": False}, "fp32 only"),
        ("cuda:0", "half", {}, "unknown training precision"),
    ):
        with pytest.raises(ConfigError, match=message):
            training_precision(device, requested, **kwargs)
    # the capability query: native bf16 from compute capability 8.0 (A100, H100, ...); a T4 (7.5) gets fp16
    asked = []

    def capability(device):
        asked.append(str(device))
        return {"cuda:0": (9, 0), "cuda:1": (7, 5)}[str(device)]

    monkeypatch.setattr(torch.cuda, "get_device_capability", capability)
    monkeypatch.setattr(torch.version, "hip", None)
    assert training_precision("cuda:0") == "bf16" and training_precision("cuda:1") == "fp16"
    assert asked == ["cuda:0", "cuda:1"]
    assert training_precision("cpu") == "fp32" and len(asked) == 2  # the CPU never asks CUDA anything


def _toy_trainer(precision_forced: str | None = None, kill_after: int | None = None):
    import torch

    from irrobust.rankers.training import Trainer

    class Killed(Exception):
        pass

    class Toy(Trainer):
        kind, label, batch_size, log_every, clip_norm = "toy", "toy", 3, 2, 0.5

        def network(self):
            net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
            opt = torch.optim.AdamW(net.parameters(), lr=0.05)
            return net, opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))

        def loss(self, model, batch):
            x = torch.linspace(-1, 1, 4)[None, :] * torch.tensor(batch, dtype=torch.float32)[:, None] / 7.0
            return ((model(x).squeeze(1).float() - x.sum(1)) ** 2).mean()

        def on_epoch_end(self, epoch):
            if kill_after is not None and epoch == kill_after:
                raise Killed

    t = Toy(SimpleNamespace(epochs=3, seed=11, threads=1, training_spec=lambda: {"toy": 2}), device="cpu")
    if precision_forced is not None:
        t.precision = precision_forced  # only to exercise the mixed path's control flow on the CPU
    t.n_items = 10
    return t, Killed


def test_cpu_training_is_plain_fp32_without_autocast():
    """On the CPU, ``precision="auto"`` is fp32 with no autocast: the weights equal, bit for bit, a plain fp32 loop
    (forward, zero_grad, backward, clip, step, schedule) over the same seeded network and batches."""
    import torch

    from irrobust.rankers.training import batches, seed_everything

    t, _ = _toy_trainer()
    assert t.precision == "fp32"
    model = t.fit()
    seed_everything(11)
    ref, opt, sched = t.network()
    for epoch in range(3):
        for batch in batches(10, 3, 11, epoch):
            loss = t.loss(ref, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(ref.parameters(), 0.5)
            opt.step()
            sched.step()
    for a, b in zip(model.state_dict().values(), ref.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_fp16_gradient_scaler_path_steps_and_resumes(tmp_path):
    """The fp16 branch (scaled backward, unscale before clipping, scaler step/update, the scaler's state in the epoch
    checkpoint): forced on the CPU, it trains (the loss falls), and a killed run resumes to the same weights."""
    import torch

    t, _ = _toy_trainer("fp16")
    model = t.fit()
    assert all(torch.isfinite(p).all() for p in model.parameters())
    losses = [c["loss"] for c in t.curve]
    assert losses[-1] < losses[0]
    ck = tmp_path / "toy.pt"
    killed, Killed = _toy_trainer("fp16", kill_after=0)
    with pytest.raises(Killed):
        killed.fit(ck)
    state = torch.load(ck, weights_only=True)
    assert "scaler" in state and state["scaler"]["scale"] > 0
    assert '"precision": "fp16"' in state["key"]  # an fp32 run never resumes a mixed-precision checkpoint
    resumed, _ = _toy_trainer("fp16")
    again = resumed.fit(ck)
    assert resumed.curve == t.curve
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    fp32, _ = _toy_trainer()
    assert '"precision"' not in fp32._state_key()  # fp32 checkpoints keep the key they had before
    plain = fp32.fit()  # the forced fp16 run really ran under autocast: its weights differ from fp32's
    assert not all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), plain.state_dict().values(),
                                                     strict=True))  # fmt: skip
