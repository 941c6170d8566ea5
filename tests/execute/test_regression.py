"""Issue 14 regression: the small certify and attack pipelines give, byte for byte (compute seconds aside), the
outputs they gave before the task protocol, the one store and the executors (``tests/execute/before``)."""

from __future__ import annotations

import pytest

from irrobust.cli import main


@pytest.mark.slow
@pytest.mark.parametrize("name", ["certify_small", "attack_small"])
def test_outputs_equal_those_made_before_the_task_protocol(tmp_path, cran_index, run_outputs, before, name):
    from pathlib import Path

    pipe = Path(__file__).parent / "pipelines" / f"{name}.yaml"
    assert main(["run", str(pipe), "--out", str(tmp_path / name), "--quiet"]) == 0
    got, want = run_outputs(tmp_path / name), before(name)
    assert sorted(got) == sorted(want)
    assert [k for k in got if got[k] != want[k]] == []
