"""Procedural indoor RGB-D scenes, ray-cast in numpy: exact dense depth without any download.

- ``scene``: materials, primitives, light, pinhole camera, and the primitives' closed-form geometry;
- ``raycast``: rays through the pixel centres and their nearest hits (z-depth);
- ``shading``: textures, a point light with shadows, the display gamma;
- ``renderer``: a scene seen by a camera -> ``Frame``; stereo pairs -> ``StereoFrame``;
- ``schema``: the one array schema of a rendered frame, shared by frames, the cache and the datasets;
- ``sampling``: random rooms and phone-like cameras, each frame from its own random stream;
- ``frames``: random frames, stereo frames and trajectories by (seed, split, index);
- ``cache``: the on-disk cache, rendered by ``python -c`` worker processes;
- ``dataset``: the registered ``synthetic`` and ``synthetic_stereo`` datasets and ``synthetic_sequence``.

Importing this package loads numpy only; the TensorFlow datasets load on first use of their names,
so that cache workers and the AR evaluation start without TensorFlow.
"""
from __future__ import annotations

import importlib
from typing import Any

from keras_depth.data.synthetic.cache import build_cache, cache_params, cache_path, load_cache
from keras_depth.data.synthetic.frames import DEFAULT_BASELINE, render_frame, render_stereo_frame, render_trajectory
from keras_depth.data.synthetic.renderer import render
from keras_depth.data.synthetic.sampling import (
    CAMERA_HEIGHT_RANGE_M, FOV_RANGE_DEG, MAX_DEPTH, MIN_DEPTH, SPLITS, CameraRanges, frame_rng, random_camera,
    random_scene,
)
from keras_depth.data.synthetic.scene import (
    Box, Camera, Cylinder, Light, Material, Plane, Scene, Sphere, intrinsics_for_fov, look_pose, room_planes,
)
from keras_depth.data.synthetic.schema import FIELDS, GENERATOR_VERSION, Frame, StereoFrame

_DATASETS = ("synthetic_dataset", "synthetic_stereo_dataset", "synthetic_sequence")

__all__ = [
    "Box", "Camera", "CameraRanges", "Cylinder", "DEFAULT_BASELINE", "FIELDS", "FOV_RANGE_DEG", "Frame",
    "GENERATOR_VERSION", "CAMERA_HEIGHT_RANGE_M", "Light", "MAX_DEPTH", "MIN_DEPTH", "Material", "Plane", "SPLITS",
    "Scene", "Sphere", "StereoFrame", "build_cache", "cache_params", "cache_path", "frame_rng", "intrinsics_for_fov",
    "load_cache", "look_pose", "random_camera", "random_scene", "render", "render_frame",
    "render_stereo_frame", "render_trajectory", "room_planes", *_DATASETS,
]


def __getattr__(name: str) -> Any:
    # PEP 562: the TensorFlow-backed datasets, imported when first named (see the module docstring).
    if name in _DATASETS:
        return getattr(importlib.import_module("keras_depth.data.synthetic.dataset"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
