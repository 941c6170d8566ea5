"""Atomic writes: complete or absent, never half-written, with ordinary permissions."""

from __future__ import annotations

import os

import pytest

from irrobust.util.io import atomic_dir, atomic_write_bytes


def test_atomic_file_has_usual_permissions_and_replaces_whole(tmp_path):
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new contents")
    assert target.read_bytes() == b"new contents"
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~_umask()
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # no temporary left behind


def test_failed_directory_build_keeps_the_previous_one(tmp_path):
    final = tmp_path / "idx"
    with atomic_dir(final) as tmp:
        (tmp / "v").write_text("1")
    with pytest.raises(RuntimeError), atomic_dir(final) as tmp:
        (tmp / "v").write_text("2")
        raise RuntimeError("killed mid-build")
    assert (final / "v").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_jvm_fatal_error_log_goes_to_the_workspace_not_the_cwd():
    """A run killed while Lucene works makes the JVM write hs_err_pid*.log: it must not land in the CWD."""
    import jnius_config

    import irrobust  # noqa: F401  (configures the JVM options at import)
    from irrobust import paths

    options = [o for o in jnius_config.get_options() if o.startswith("-XX:ErrorFile=")]
    assert options == [f"-XX:ErrorFile={paths.home() / '.cache' / 'jvm' / 'hs_err_pid%p.log'}"]
    assert (paths.home() / ".cache" / "jvm").is_dir()  # else the JVM falls back to the current directory


def test_build_lock_serialises_two_processes(tmp_path):
    import multiprocessing as mp
    import time

    from irrobust.util.io import build_lock

    def hold(path, log, tag):
        with build_lock(path):
            with open(log, "a") as fh:
                fh.write(f"{tag}+")
            time.sleep(0.3)
            with open(log, "a") as fh:
                fh.write(f"{tag}-")

    ctx = mp.get_context("fork")
    log = tmp_path / "log"
    procs = [ctx.Process(target=hold, args=(tmp_path / "index", log, t)) for t in "ab"]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    text = log.read_text()
    assert text in ("a+a-b+b-", "b+b-a+a-")  # never interleaved
