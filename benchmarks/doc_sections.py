"""Generated sections of a markdown doc: a benchmark script owns the text between its markers
``<!-- begin: SCRIPT NAME (measured; generated) -->`` and ``<!-- end: SCRIPT NAME -->`` and rewrites
only that, so hand-written text and other scripts' sections around it stay."""
from __future__ import annotations

from pathlib import Path

MARKDOWN = "<!-- output: markdown -->"  # a script's first stdout line: run_all puts the rest in as markdown


def markers(script: str, name: str = "") -> tuple[str, str]:
    tag = f"{script} {name}".strip()
    return (f"<!-- begin: {tag} (measured; generated) -->", f"<!-- end: {tag} -->")


def write_section(path: Path, script: str, name: str, text: str, title: str = "") -> None:
    """Replace the ``name`` section of ``path`` with ``text`` (which starts and ends with the markers),
    or append it; a missing file starts with ``title``."""
    from keras_depth.io import atomic_write_text

    begin, end = markers(script, name)
    doc = path.read_text() if path.is_file() else f"{title}\n"
    if begin in doc and end in doc:
        doc = doc[: doc.index(begin)] + text + doc[doc.index(end) + len(end):]
    else:
        doc = doc.rstrip("\n") + "\n\n" + text + "\n"
    atomic_write_text(path, doc)
    print(f"wrote the {name + ' ' if name else ''}section of {path}")


def publish(lines: list[str], doc: str, script: str, title: str) -> None:
    """Print a script's markdown ``lines`` for ``run_all`` (after the ``MARKDOWN`` line), and write them as
    the script's section of ``doc``, a path relative to the repository (empty: no doc)."""
    print(MARKDOWN)
    print("\n".join(lines))
    if not doc:
        return
    from benchmarks import REPO

    begin, end = markers(script)
    path = Path(doc) if Path(doc).is_absolute() else REPO / doc
    write_section(path, script, "", "\n".join([begin, *lines, end]), title=title)
