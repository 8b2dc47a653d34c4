"""Augmented reality on predicted depth: render a virtual object, hide it behind real surfaces.

The Python twin of ``android_demo/depth-core`` (Occlusion.kt, Cube.kt, Smoothing.kt,
Alignment.kt): camera axes x right, y down, z forward; pixel ``i`` spans ``[i, i + 1)`` so its
centre is at ``i + 0.5``; an object pixel shows iff its z is strictly less than a valid scene depth.

- ``render``: numpy z-buffer rasterizer, cube mesh, pinhole intrinsics.
- ``obj``: Wavefront .obj/.mtl loader.
- ``composite``: occlusion compositing.
- ``placement``: anchors, scale/shift alignment of relative depth.
- ``temporal``: EMA stabilisation and the flicker metric.
- ``pipeline``: per-frame depth -> aligned (and optionally stabilised) scene depth.
- ``video``: frame sources and an atomic mp4 writer.
- ``demo``: the AR demo (``keras-depth demo``); ``temporal_eval``: flicker with and without
  stabilisation (``keras-depth temporal``); ``synthetic_eval``: occlusion accuracy against true depth
  (``keras-depth ar-eval``). The subcommands' argument parsing lives in ``keras_depth.cli``.
"""
