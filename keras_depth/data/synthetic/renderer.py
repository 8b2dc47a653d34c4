"""A scene seen by a camera: the rendered ``Frame`` (image, z-depth, intrinsics, pose), and stereo pairs."""
from __future__ import annotations

import numpy as np

from keras_depth.data.synthetic.raycast import Cast, cast
from keras_depth.data.synthetic.scene import Camera, Scene
from keras_depth.data.synthetic.schema import Frame, StereoFrame, disparity
from keras_depth.data.synthetic.shading import shade, to_uint8


def shade_cast(scene: Scene, camera: Camera, rays: Cast) -> Frame:
    """The frame of rays already cast, so that a caller who checked their depth does not cast twice."""
    rgb = shade(scene, rays.origin, rays.directions, rays.t, rays.ids)
    depth = np.where(rays.ids >= 0, rays.t, 0).astype(np.float32)
    hw = (camera.height, camera.width)
    return Frame(to_uint8(rgb).reshape(*hw, 3), depth.reshape(hw), camera.intrinsics, camera.pose)


def render(scene: Scene, camera: Camera) -> Frame:
    """RGB uint8 [H, W, 3] and z-depth float32 [H, W] (metres; 0 where nothing is hit) of one view."""
    return shade_cast(scene, camera, cast(scene, camera))


def stereo_frame(left: Frame, right: Frame, fx: float, baseline: float) -> StereoFrame:
    """The pair of two views rendered ``baseline`` metres apart along the left camera's x axis."""
    return StereoFrame(
        left.image, left.depth, left.intrinsics, left.pose,
        right.image, right.depth, disparity(left.depth, fx, baseline), disparity(right.depth, fx, baseline),
        float(baseline),
    )
