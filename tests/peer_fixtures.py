"""A peer model staged as our exports are laid out: ``<name>.tflite`` (a symlink to the shared file)
with its manifest JSON beside it, for tests that feed a peer to tools reading such pairs."""
from __future__ import annotations

from pathlib import Path

from export.manifest import write_manifest
from keras_depth.runtime.peers import peer_manifest, peer_path


def stage_peer(name: str, out_dir: Path) -> Path:
    src = peer_path(name)
    out_dir.mkdir(parents=True, exist_ok=True)
    link = out_dir / f"{name}.tflite"
    manifest = peer_manifest(name)
    manifest.model_file = link.name
    write_manifest(manifest, link)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(src)
    return link
