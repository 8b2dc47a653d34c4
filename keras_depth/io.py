"""Atomic file writes: a crash never leaves a half-written checkpoint, export or report behind."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Union

PathLike = Union[str, os.PathLike]


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise _naming(e, path)


def atomic_write_text(path: PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_with(path: PathLike, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` (a file or a folder), then move the result onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    tmp = tmpdir / path.name
    try:
        try:
            writer(tmp)
        except OSError as e:
            raise _naming(e, path)
        if path.is_dir() and not path.is_symlink():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _naming(error: BaseException, path: Path) -> BaseException:
    """``error`` with ``path`` as its file name when it is an OSError that names none (a failed
    ``write`` on a full disk says only "No space left on device"), so the message names the file."""
    if isinstance(error, OSError) and not error.filename and error.errno:
        named = OSError(error.errno, error.strerror, str(path))
        named.__cause__ = error
        return named
    return error
