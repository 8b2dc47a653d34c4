"""README.md stays a five-minute read whose links and commands are real."""
from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
MAX_LINES = 110

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
SUBCOMMAND = re.compile(r"(?<![\w/.-])keras-depth\s+([a-z][a-z0-9_-]*)")


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation but '-' and '_' dropped, spaces to hyphens."""
    text = FENCE.sub("", markdown)
    heads = re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in heads}


def _code(markdown: str) -> list[str]:
    """The code in ``markdown``: fenced blocks, then inline spans of the text outside them."""
    blocks = FENCE.findall(markdown)
    return blocks + INLINE_CODE.findall(FENCE.sub("", markdown))


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_LINES, f"README.md has {len(lines)} lines (at most {MAX_LINES}): move detail into docs/"


def test_readme_relative_links_exist():
    text = README.read_text(encoding="utf-8")
    links = LINK.findall(FENCE.sub("", text))
    assert links, "no links found: the pattern is broken"
    broken = []
    for link in links:
        if re.match(r"^[a-z][a-z0-9+.-]*:", link):  # http:, https:, mailto:
            continue
        path, _, fragment = link.partition("#")
        target = (README.parent / path).resolve() if path else README
        if not target.exists():
            broken.append(link)
        elif fragment and target.suffix == ".md" and fragment not in _anchors(target.read_text(encoding="utf-8")):
            broken.append(f"{link} (no such heading)")
    assert not broken, f"README.md links to missing files or headings: {broken}"


def test_readme_subcommands_are_real():
    from keras_depth.cli import COMMANDS

    mentioned = {m for code in _code(README.read_text(encoding="utf-8")) for m in SUBCOMMAND.findall(code)}
    assert mentioned, "no `keras-depth COMMAND` found: the pattern is broken"
    unknown = sorted(mentioned - set(COMMANDS))
    assert not unknown, f"README.md names subcommands the CLI does not have: {unknown}"


def test_readme_python_example_runs(tmp_path):
    """The README's Python lines, run as written (the shipped model) on a synthetic 120x180 photo: a
    DepthResult at the photo's resolution, predicted on the centred square the model takes (columns
    30..149: (180 - 120) / 2 = 30), in the model's 0.25-10 m, whose files save."""
    import numpy as np

    from test_predict import ramp

    block = next(c for c in _code(README.read_text(encoding="utf-8")) if "kd.load(" in c)
    scope = {"rgb": ramp(120, 180)}
    exec(block, scope)
    depth = scope["depth"]
    assert depth.metres.shape == (120, 180)
    cols = np.flatnonzero(depth.valid.all(axis=0))
    assert (cols[0], cols[-1], len(cols)) == (30, 149, 120) and not depth.valid[:, :30].any()
    inside = depth.metres[depth.valid]
    assert np.all((inside >= 0.25 - 1e-3) & (inside <= 10.0 + 1e-3))
    assert depth.colorize().shape == (120, 180, 3) and len(depth.to_points(fov_deg=60)[0]) == 120 * 120
    # the shipped model names its camera, so the point cloud is among the default files
    assert {p.name for p in depth.save(tmp_path / "out")} == {"depth.png", "depth_mm.png", "depth.npy", "depth.ply"}
