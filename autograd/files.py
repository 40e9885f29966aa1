"""Writing files safely: a crash mid-write never replaces a good file with half of one, and
nothing but a regular file (or a symbolic link to one) is ever written over."""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path


class NotARegularFileError(OSError):
    """The path names something that is not a regular file: a FIFO, a device such as
    /dev/null, a socket (a directory is an `IsADirectoryError`)."""

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {self.strerror}"


_KINDS = [
    (stat.S_ISFIFO, "a FIFO (a named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
]


def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write `data` (bytes, or str as UTF-8) to `path`, all or nothing.

    The data goes to a new temporary file beside `path`, is flushed to disk, and only then
    renamed over `path` (`os.replace` is atomic), so readers see the old file or the new one,
    never a partial one. The file gets the usual permissions (the umask), not mkstemp's 0600.
    Missing parent directories are made. A symbolic link stays a link: the file it points to
    is the one (atomically) replaced. Only a regular file is replaced: a directory is an
    `IsADirectoryError`, and a FIFO, a device (/dev/null) or a socket, or a link to one, a
    `NotARegularFileError`, each naming the path, before anything is written. Returns the
    path given.
    """
    given = Path(path)
    if str(path) == "" or given.name in ("", ".", ".."):
        raise ValueError(f"no file name to write to: {str(path)!r}")
    path = Path(os.path.realpath(given)) if given.is_symlink() else given
    _refuse_all_but_a_regular_file(given, path)
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    tmp = directory / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "xb") as file:
            file.write(raw)
            file.flush()
            os.fsync(file.fileno())
        _refuse_all_but_a_regular_file(given, path)  # (made meanwhile: still not replaced)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return given


def _refuse_all_but_a_regular_file(given: Path, target: Path) -> None:
    """Raise if `target` (what `given` names, through a link) exists and is not a regular
    file; nothing there yet is fine."""
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return
    except NotADirectoryError:
        return  # a parent is a file: mkdir says so
    if stat.S_ISREG(mode):
        return
    through = f" (a symbolic link to {target})" if given != target else ""
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{given}{through} is a directory: give a file name")
    kind = next((what for test, what in _KINDS if test(mode)), "something else")
    raise NotARegularFileError(
        errno.EINVAL,
        f"it is {kind}{through}, not a regular file: give the path of a file",
        str(given),
    )
