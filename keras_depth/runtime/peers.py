"""Third-party ("peer") models that we evaluate and benchmark beside ours, each given a manifest.

The peer files live in ``../shared/anchors`` and are never copied into the project: a manifest is
generated here from what their PROVENANCE.md verified (``tests/peer_fixtures.stage_peer`` writes it beside
a symlink when a tool needs a ``model.tflite`` + ``model.json`` pair).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from keras_depth.errors import UsageError
from keras_depth.paths import shared_path
from keras_depth.runtime.manifest import InputSpec, Manifest, OutputSpec, Quantization


def fastdepth_manifest(model_file: str = "fast_depth_224.tflite") -> Manifest:
    """FastDepth (Wofk et al., ICRA 2019) int8 from OpenMV/ST: raw RGB pixels in, uint8 metres out.

    Facts from ``anchors/fastdepth_224_int8/PROVENANCE.md``: input uint8 [1,224,224,3] with scale
    1/255, zero point 0 (so the real-valued input is pixel/255, RGB as ST's config says); output uint8
    [1,224,224,1] with scale 0.0716998, zero point 0, metric depth in metres (0..18.28 representable).
    """
    return Manifest(
        model_file=model_file,
        variant="int8_ptq",
        input=InputSpec(height=224, width=224, channels=3, channel_order="RGB", dtype="uint8",
                        normalization={"scale": [1 / 255.0] * 3, "offset": [0.0] * 3},
                        quantization=Quantization(scale=1 / 255.0, zero_point=0)),
        output=OutputSpec(height=224, width=224, kind="depth", semantics="metric", units="m",
                          range=[0.0716998, 255 * 0.0716998], dtype="uint8",
                          quantization=Quantization(scale=0.0716998, zero_point=0)),
        source="peer: FastDepth (Wofk et al. 2019) via OpenMV lib/models/fast_depth_224.tflite",
        notes="Trained on NYU Depth v2; see ../shared/anchors/fastdepth_224_int8/PROVENANCE.md.",
    )


def pydnet_manifest(model_file: str = "pydnet_pp_448x640.tflite") -> Manifest:
    """PyDNet++ (mobilePydnet, Aleotti et al.) float32: pixel/255 RGB in, relative depth out.

    Facts from ``anchors/pydnet_pp_float/PROVENANCE.md``: input float32 [1,448,640,3], RGB / 255;
    three float32 [1,448,640,1] outputs, the first (the interpreter's output 0) the finest; values
    grow with distance (about 1..260) with an unknown scale: relative depth, not metric or disparity.
    """
    return Manifest(
        model_file=model_file,
        variant="float32",
        input=InputSpec(height=448, width=640, channels=3, channel_order="RGB", dtype="float32",
                        normalization={"scale": [1 / 255.0] * 3, "offset": [0.0] * 3}),
        output=OutputSpec(height=448, width=640, kind="depth", semantics="relative", units="relative",
                          range=[1.0, 300.0], dtype="float32"),
        source="peer: PyDNet++ (mobilePydnet) optimized_pydnet++.tflite",
        notes="Relative depth up to scale; non-commercial weights; see ../shared/anchors/pydnet_pp_float/PROVENANCE.md.",
    )


FASTDEPTH = "fastdepth_224_int8"
PYDNET = "pydnet_pp_float"
# name -> (path relative to keras_depth.paths.shared_dir(), manifest factory)
PEERS: dict[str, tuple[str, Callable[[], Manifest]]] = {
    FASTDEPTH: ("anchors/fastdepth_224_int8/fast_depth_224.tflite", fastdepth_manifest),
    PYDNET: ("anchors/pydnet_pp_float/pydnet_pp_448x640.tflite", pydnet_manifest),
}


def peer_location(name: str) -> Path:
    """Where peer ``name``'s file belongs (it may be missing: ``peer_path`` checks)."""
    if name not in PEERS:
        raise UsageError(f"peer {name!r} is unknown (expected one of: {', '.join(PEERS)})")
    return shared_path(PEERS[name][0])


def peer_path(name: str) -> Path:
    """Peer ``name``'s model file; a one-line UsageError when it is unknown or missing."""
    path = peer_location(name)
    if not path.is_file():
        raise UsageError(f"peer {name}: model file not found at {path}")
    return path


def peer_manifest(name: str) -> Manifest:
    peer_path(name)
    return PEERS[name][1]()
