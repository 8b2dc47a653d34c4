"""How a failed command ends: one ``error:`` line on stderr and an exit code, never a traceback
unless ``--debug`` is given.

- bad usage or input (``UsageError``/``DataError``): exit 2, the error's own line;
- an output that cannot be written (read-only or forbidden folder, full disk, file-size limit), whether
  Python or TensorFlow's C++ file system says so: exit 2, one line naming the path;
- Ctrl-C: exit 130;
- anything else is an internal failure: exit 1, one line with the traceback's log file.

Nothing here imports TensorFlow: its errors are recognised by module and message.
"""
from __future__ import annotations

import errno
import os
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable, Optional

from keras_depth.errors import UsageError

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# errno -> what the user reads; these are the environment's fault, not ours (exit 2).
WRITE_ERRNOS = {
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOSPC: "no space left on device (disk full)",
    errno.EFBIG: "file too large (disk full or file-size limit)",
    errno.EDQUOT: "disk quota exceeded",
}
# The same conditions in TensorFlow's C++ file-system messages (its errors carry no errno).
_TF_WRITE_TEXTS = (
    ("no space left on device", errno.ENOSPC),
    ("file too large", errno.EFBIG),
    ("read-only file system", errno.EROFS),
    ("permission denied", errno.EACCES),
    ("disk quota exceeded", errno.EDQUOT),
)
_PATH = re.compile(r"(?:^|[\s'\"(])((?:/|\.{0,2}/|[\w.-]+/)[^\s'\";,)]*)")


def crash_log_dir() -> Path:
    """Where internal failures leave their tracebacks (``KERAS_DEPTH_LOG_DIR``, else the temp folder:
    the output folder may be the thing that cannot be written)."""
    return Path(os.environ.get("KERAS_DEPTH_LOG_DIR") or Path(tempfile.gettempdir()) / "keras-depth-logs")


def write_error(exc: BaseException) -> Optional[str]:
    """The one line for an output that could not be written, or None if ``exc`` is not that."""
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno in WRITE_ERRNOS:
            return _line(e.errno, e.filename or _path_in(str(e)))
        if type(e).__module__.startswith("tensorflow"):
            text = str(e)
            low = text.lower()
            for needle, code in _TF_WRITE_TEXTS:
                if needle in low:
                    return _line(code, _path_in(text))
    return None


def _line(code: int, path: Optional[str]) -> str:
    if code in (errno.EACCES, errno.EPERM):  # reading can be forbidden too
        return f"{path or 'a file'}: {WRITE_ERRNOS[code]}"
    return f"cannot write {path or 'the output'}: {WRITE_ERRNOS[code]}"


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _path_in(text: str) -> Optional[str]:
    """The first token of an error message that is a path on this machine (TensorFlow names the file
    it failed on, among device names such as ``/job:localhost/replica:0``): one whose first folder
    exists."""
    for m in _PATH.finditer(text):
        token = m.group(1).rstrip(".:;,}")
        parts = Path(token).parts
        if "/" not in token or len(parts) < 2:
            continue
        first = Path(parts[0]) / parts[1] if parts[0] == "/" else Path(parts[0])
        if first.exists():
            return token
    return None


def log_traceback(exc: BaseException, argv: list[str]) -> Optional[Path]:
    """Write the traceback of an internal failure to a new log file; its path, or None if even that
    cannot be written."""
    try:
        folder = crash_log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"keras-depth-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        path.write_text(f"keras-depth {' '.join(argv)}\n\n{text}")
        return path
    except OSError:
        return None


def run_guarded(body: Callable[[], int], argv: list[str], debug: bool) -> int:
    """``body()``'s exit code, with every failure turned into one ``error:`` line and its code.
    With ``debug``, an internal failure prints its traceback instead (and still exits 1)."""
    try:
        return body()
    except UsageError as e:
        return _fail(str(e), EXIT_USAGE, debug)
    except KeyboardInterrupt:
        print("error: interrupted (Ctrl-C); a run resumes from its last checkpoint when started again", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK if _quiet_stdout() else EXIT_INTERNAL
    except Exception as e:  # noqa: BLE001  (the one place where every failure is caught)
        data_error = _reader_error(e)
        if data_error is not None:
            return _fail(str(data_error), EXIT_USAGE, debug)
        line = write_error(e)
        if line is not None:
            return _fail(line, EXIT_USAGE, debug)
        if debug:
            traceback.print_exc()
            return EXIT_INTERNAL
        log = log_traceback(e, argv)
        first = (str(e).strip().splitlines() or [""])[0][:300]
        where = f"traceback in {log}" if log else "run with --debug for the traceback"
        print(f"error: internal failure: {type(e).__name__}: {first} ({where}; please report it)", file=sys.stderr)
        return EXIT_INTERNAL


def _reader_error(exc: BaseException) -> Optional[UsageError]:
    """The DataError a strict reader raised inside tf.data, which reaches us wrapped in a TensorFlow
    error (``keras_depth.data.readers.source.reraise_data_error``); None for any other failure."""
    source = sys.modules.get("keras_depth.data.readers.source")
    if source is None or not type(exc).__module__.startswith("tensorflow"):
        return None
    try:
        source.reraise_data_error(exc)
    except UsageError as e:
        return e
    return None


def _fail(line: str, code: int, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    print(f"error: {line}", file=sys.stderr)
    return code


def _quiet_stdout() -> bool:
    """After ``keras-depth ... | head``: stop quietly (the reader left, which is not a failure)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return True
    except OSError:
        return False
