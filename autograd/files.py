"""Writing files safely: a crash mid-write never replaces a good file with half of one."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write `data` (bytes, or str as UTF-8) to `path`, all or nothing.

    The data goes to a new temporary file beside `path`, is flushed to disk, and only then
    renamed over `path` (`os.replace` is atomic), so readers see the old file or the new one,
    never a partial one. The file gets the usual permissions (the umask), not mkstemp's 0600.
    Missing parent directories are made. A symbolic link stays a link: the file it points to
    is the one (atomically) replaced. Returns the path given.
    """
    given = Path(path)
    if str(path) == "" or given.name in ("", ".", ".."):
        raise ValueError(f"no file name to write to: {str(path)!r}")
    if given.is_dir():
        raise IsADirectoryError(f"{given} is a directory: give a file name")
    path = Path(os.path.realpath(given)) if given.is_symlink() else given
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    tmp = directory / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "xb") as file:
            file.write(raw)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return given
