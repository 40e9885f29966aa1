import os
import stat

import pytest

from autograd.files import atomic_write


def test_writes_bytes_and_text_and_makes_parent_directories(tmp_path):
    target = tmp_path / "a" / "b" / "picture.svg"
    assert atomic_write(target, "<svg/>") == target
    assert target.read_text() == "<svg/>"
    atomic_write(target, b"\x89PNG")
    assert target.read_bytes() == b"\x89PNG"


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "model.json"
    atomic_write(target, "good")

    def crash(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated"):
        atomic_write(target, "half")
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_files_get_the_umask_permissions_not_private_ones(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write(tmp_path / "out.png", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
