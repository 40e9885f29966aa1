"""`atomic_write` writes over a regular file (or a link to one) and nothing else, and a write
that fails half-way never replaces a good file (issue 22, item 15)."""

from __future__ import annotations

import os
import random
import shutil
import socket
import stat
import tempfile
from pathlib import Path

import pytest
from examples import run_cli

from autograd import Value, render
from autograd.files import NotARegularFileError, atomic_write

KINDS = {"fifo": "FIFO", "socket": "socket", "directory": "directory"}


@pytest.fixture
def short_tmp():
    """A directory with a short path (a Unix socket's path is at most about 100 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="aw", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def make(kind: str, path: Path) -> object:
    """Make a FIFO, a listening Unix socket or a directory at `path`; return what keeps it."""
    if kind == "fifo":
        os.mkfifo(path)
        return None
    if kind == "directory":
        path.mkdir()
        return None
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    return server


def kind_of(path: Path) -> str:
    mode = os.lstat(path).st_mode
    for test, name in (
        (stat.S_ISFIFO, "fifo"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISDIR, "directory"),
    ):
        if test(mode):
            return name
    return "link" if stat.S_ISLNK(mode) else "file"


def one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text
    return text


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("through_a_link", [False, True])
@pytest.mark.parametrize("data", ["text", b"\x00bytes", ""])
def test_anything_but_a_regular_file_is_refused_and_left_as_it_was(
    short_tmp, kind, through_a_link, data
):
    thing = short_tmp / "thing"
    keeper = make(kind, thing)
    try:
        target = thing
        if through_a_link:
            target = short_tmp / "link"
            target.symlink_to(thing)
        error = IsADirectoryError if kind == "directory" else NotARegularFileError
        with pytest.raises(error) as caught:
            atomic_write(target, data)
        message = one_line(caught.value)
        assert str(target) in message and KINDS[kind] in message
        assert kind_of(thing) == kind  # still what it was
        if through_a_link:
            assert kind_of(target) == "link" and os.readlink(target) == str(thing)
        assert sorted(p.name for p in short_tmp.iterdir()) == sorted(
            ["thing"] + (["link"] if through_a_link else [])
        )  # no temporary file left
    finally:
        if keeper is not None:
            keeper.close()


def test_dev_null_is_refused_and_stays_a_character_device():
    before = os.stat("/dev/null")
    assert stat.S_ISCHR(before.st_mode)
    for data in ("x", b"", "<svg/>"):
        with pytest.raises(NotARegularFileError, match="/dev/null.*character device"):
            atomic_write("/dev/null", data)
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino


def test_a_fifo_made_while_the_data_is_written_is_not_replaced(tmp_path, monkeypatch):
    target = tmp_path / "out.svg"
    real_fsync = os.fsync

    def meanwhile(fd):
        real_fsync(fd)
        os.mkfifo(target)  # someone makes a FIFO where the file was to go

    monkeypatch.setattr(os, "fsync", meanwhile)
    with pytest.raises(NotARegularFileError, match="FIFO"):
        atomic_write(target, "<svg/>")
    assert kind_of(target) == "fifo" and [p.name for p in tmp_path.iterdir()] == ["out.svg"]


def test_the_command_line_and_render_refuse_a_fifo_in_one_line(tmp_path, capsys):
    fifo, page_fifo = tmp_path / "picture.dot", tmp_path / "page.html"
    os.mkfifo(fifo)
    os.mkfifo(page_fifo)
    for command, path in (("graph", fifo), ("web", page_fifo)):
        status, out, err = run_cli(capsys, command, "x*y", "x=1", "y=2", "-o", str(path))
        assert status == 2 and err.count("\n") == 1 and "FIFO" in err and str(path) in err, err
    with pytest.raises(NotARegularFileError):
        render(Value(1.0, "x") * 2.0, fifo)
    assert kind_of(fifo) == "fifo"


CRASH_POINTS = ["open", "write", "fsync", "replace"]


class Crash(Exception):
    pass


def crash_at(point: str, monkeypatch) -> None:
    """Make the write fail at `point`: its file opened, its bytes written, flushed, or renamed."""
    import builtins

    if point == "replace":
        monkeypatch.setattr(os, "replace", lambda *args: (_ for _ in ()).throw(Crash(point)))
    elif point == "fsync":
        monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(Crash(point)))
    else:
        real_open = builtins.open

        def failing_open(file, mode="r", *args, **kwargs):
            handle = real_open(file, mode, *args, **kwargs)
            if "x" not in mode:
                return handle
            if point == "open":
                handle.close()
                raise Crash(point)

            class HalfWriter:  # writes half the bytes, then fails
                def __enter__(self):
                    return self

                def __exit__(self, *exc):
                    handle.close()

                def write(self, data):
                    handle.write(data[: len(data) // 2])
                    handle.flush()
                    raise Crash(point)

            return HalfWriter()

        monkeypatch.setattr(builtins, "open", failing_open)


def test_a_write_that_fails_anywhere_never_replaces_the_good_file(tmp_path):
    """Random runs of good and failing writes (seeded): the file always holds the last good
    content, whole, and no temporary file is ever left behind."""
    rng = random.Random(22)
    target = tmp_path / "model.json"
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    good = None
    for _ in range(60):
        data = "".join(rng.choice("ab{}\n") for _ in range(rng.randint(0, 200)))
        point = rng.choice([None, *CRASH_POINTS])
        via = rng.choice([target, link])
        with pytest.MonkeyPatch.context() as monkeypatch:
            if point is not None:
                crash_at(point, monkeypatch)
            try:
                atomic_write(via, data)
            except Crash:
                assert point is not None
            else:
                assert point is None
                good = data
        if good is None:
            assert not target.exists()
        else:
            assert target.read_text() == good
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            ["latest.json"] + (["model.json"] if good is not None else [])
        )
        assert link.is_symlink()
