"""A peer model (``keras_depth.runtime.peers``) staged as a ``model.tflite`` + ``model.json`` pair, for
the tools that take a file with its manifest beside it."""
from __future__ import annotations

import os
from pathlib import Path

from export.manifest import write_manifest
from keras_depth.runtime.peers import PEERS, peer_path


def stage_peer(name: str, out_dir: str | os.PathLike) -> Path:
    """``out_dir/<name>.tflite`` (a symlink to the shared file) with its manifest JSON beside it."""
    src = peer_path(name)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    link = out / f"{name}.tflite"
    manifest = PEERS[name][1]()
    manifest.model_file = link.name
    write_manifest(manifest, link)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(src)
    return link
