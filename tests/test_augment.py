"""Augmentation: geometry applied consistently to image, depth and mask, eagerly and inside Dataset.map."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_depth.data.augment import (
    augment_sample, flip_sample, random_rotation, random_scale_crop, resize_depth, resize_sample,
)

KW = dict(out_size=[24, 32], random_crop=True, crop_scale=[0.5, 1.0], flip=True, rotation_deg=5.0, color_jitter=0.2)


def make_sample(h: int = 30, w: int = 40, seed: int = 0, holes: bool = True) -> dict:
    """Image whose red channel is x, green y (so geometry can be read back), depth with holes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    image = np.stack([xx * 255 // (w - 1), yy * 255 // (h - 1), np.full_like(xx, 60)], -1).astype(np.uint8)
    depth = rng.uniform(0.5, 10.0, (h, w, 1)).astype(np.float32)
    mask = (rng.uniform(size=(h, w, 1)) > (0.3 if holes else -1)).astype(np.float32)
    return {"image": tf.constant(image), "depth": tf.constant(depth * mask), "mask": tf.constant(mask),
            "semantics": tf.constant(1, tf.int32), "intrinsics": tf.constant([40.0, 41.0, 20.0, 15.0])}


def check_contract(s: dict, size=(24, 32)) -> None:
    h, w = size
    assert s["image"].dtype == tf.uint8 and tuple(s["image"].shape) == (h, w, 3)
    assert tuple(s["depth"].shape) == (h, w, 1) and tuple(s["mask"].shape) == (h, w, 1)
    d, m = np.asarray(s["depth"]), np.asarray(s["mask"])
    assert np.isfinite(d).all() and set(np.unique(m)) <= {0.0, 1.0} and (d[m == 0] == 0).all()


def test_augment_eager_and_in_dataset_map_agree_for_the_same_seed():
    s = make_sample()
    eager = augment_sample(s, seed=[3, 4], **KW)
    check_contract(eager)
    ds = tf.data.Dataset.from_tensors(s).map(lambda x: augment_sample(x, seed=tf.constant([3, 4], tf.int64), **KW))
    (graph,) = list(ds)
    for k in eager:
        np.testing.assert_array_equal(eager[k], graph[k])
    assert graph["semantics"] == 1
    again = augment_sample(s, seed=[3, 4], **KW)
    np.testing.assert_array_equal(again["image"], eager["image"])


def test_depth_is_resampled_with_nearest_neighbour_never_interpolated():
    s = make_sample()
    out = random_scale_crop(s, [17, 23], (0.4, 0.9), seed=[1, 1])
    src = set(np.asarray(s["depth"]).ravel().tolist())
    assert set(np.asarray(out["depth"]).ravel().tolist()) <= src
    r = resize_sample(s, [60, 80])
    assert set(np.asarray(r["depth"]).ravel().tolist()) <= src


def test_crop_intrinsics_follow_the_pixels():
    """Where the image's red/green encode source x/y, a pixel's source position must equal the one
    the updated intrinsics predict: (u' + 0.5) / s - 0.5 + x0, with s = fx'/fx and x0 from cx
    (pixel centres at j + 0.5: cx' = (cx - x0) * s)."""
    s = make_sample(60, 80)
    out = random_scale_crop(s, [30, 40], (0.5, 0.5), seed=[5, 6])
    fx0, fy0, cx0, cy0 = s["intrinsics"].numpy()
    fx, fy, cx, cy = out["intrinsics"].numpy()
    sx, sy = fx / fx0, fy / fy0
    assert sx == pytest.approx(1.0, abs=1e-4) and sy == pytest.approx(1.0, abs=1e-4)  # half the window, half the size
    x0 = cx0 - cx / sx
    y0 = cy0 - cy / sy
    img = out["image"].numpy().astype(float)
    for u, v in ((0, 0), (39, 29), (20, 10)):
        assert img[v, u, 0] * 79 / 255 == pytest.approx(x0 + (u + 0.5) / sx - 0.5, abs=1.0)
        assert img[v, u, 1] * 59 / 255 == pytest.approx(y0 + (v + 0.5) / sy - 0.5, abs=1.0)


def test_resize_sample_scales_intrinsics_with_pixel_centres():
    s = make_sample(30, 40)
    r = resize_sample(s, [15, 20])
    np.testing.assert_allclose(r["intrinsics"], [20.0, 20.5, 10.0, 7.5])  # the image centre stays the centre
    unknown = dict(s, intrinsics=tf.constant([-1.0, -1.0, -1.0, -1.0]))
    np.testing.assert_array_equal(resize_sample(unknown, [15, 20])["intrinsics"], [-1, -1, -1, -1])


def test_masked_resize_keeps_sparse_points_and_averages_only_valid_pixels():
    depth = np.zeros((8, 8, 1), np.float32)
    mask = np.zeros((8, 8, 1), np.float32)
    depth[1, 1], mask[1, 1] = 4.0, 1.0  # one LiDAR return in the top-left 4x4 block
    depth[5, 6], mask[5, 6] = 2.0, 1.0
    depth[6, 7], mask[6, 7] = 3.0, 1.0
    d, m = resize_depth(tf.constant(depth), tf.constant(mask), [2, 2], "masked")
    np.testing.assert_allclose(d[..., 0], [[4.0, 0.0], [0.0, 2.5]])
    np.testing.assert_array_equal(m[..., 0], [[1, 0], [0, 1]])
    dn, mn = resize_depth(tf.constant(depth), tf.constant(mask), [2, 2], "nearest")
    assert float(tf.reduce_sum(mn)) < 2  # nearest drops most sparse points


def test_rotation_invalidates_rotated_in_corners_and_keeps_values():
    s = make_sample(40, 40, holes=False)
    out = random_rotation(s, 10.0, seed=[2, 9])
    m = out["mask"].numpy()[..., 0]
    assert m[0, 0] == 0 or m[0, -1] == 0  # a corner came from outside
    assert m[20, 20] == 1 and 0.8 < m.mean() < 1.0
    assert set(out["depth"].numpy().ravel().tolist()) <= set(s["depth"].numpy().ravel().tolist()) | {0.0}


def test_rotation_direction_matches_opencv():
    import cv2

    s = make_sample(31, 31, holes=False)
    seed = tf.constant([4, 5], tf.int64)
    angle = float(tf.random.stateless_uniform([], tf.random.experimental.stateless_split(seed, 16)[0], -40.0, 40.0))
    assert abs(angle) > 10  # large enough to tell the two directions apart
    out = random_rotation(s, 40.0, seed=seed)
    got = out["depth"].numpy()[..., 0]
    # A positive angle turns the content counter-clockwise on screen, as OpenCV's getRotationMatrix2D(angle).
    agree = {}
    for sign in (-1, 1):
        m = cv2.getRotationMatrix2D((15.0, 15.0), sign * angle, 1.0)
        ref = cv2.warpAffine(s["depth"].numpy()[..., 0], m, (31, 31), flags=cv2.INTER_NEAREST)
        both = (ref > 0) & (got > 0)
        agree[sign] = np.isclose(got[both], ref[both]).mean()
    assert agree[1] > 0.9 and agree[-1] < 0.5


def test_stereo_flip_swaps_and_mirrors_both_views():
    s = make_sample(6, 8)
    right = np.random.default_rng(1).integers(0, 255, (6, 8, 3), dtype=np.uint8)
    stereo = dict(s, image_right=tf.constant(right), depth_right=tf.zeros((6, 8, 1)), mask_right=tf.zeros((6, 8, 1)),
                  intrinsics_right=tf.constant([40.0, 41.0, 21.5, 15.0]), baseline=tf.constant(0.1))
    f = flip_sample(stereo)
    np.testing.assert_array_equal(f["image"], right[:, ::-1])
    np.testing.assert_array_equal(f["image_right"], s["image"].numpy()[:, ::-1])
    np.testing.assert_array_equal(f["depth_right"], s["depth"].numpy()[:, ::-1])
    assert f["mask"].numpy().sum() == 0  # the new left view had no GT
    np.testing.assert_allclose(f["intrinsics"], [40.0, 41.0, 8 - 21.5, 15.0])  # x -> W - x
    assert float(f["baseline"]) == pytest.approx(0.1)
    twice = flip_sample(f)
    for k in stereo:
        np.testing.assert_array_equal(twice[k], stereo[k])
    out = augment_sample(stereo, seed=[0, 1], **KW)  # runs with the stereo keys, rotation skipped
    check_contract(out)
    assert tuple(out["image_right"].shape) == (24, 32, 3)


def test_mono_flip_mirrors_depth_with_the_image():
    s = make_sample(6, 8)
    f = flip_sample(s)
    np.testing.assert_array_equal(f["depth"], s["depth"].numpy()[:, ::-1])
    np.testing.assert_array_equal(f["image"], s["image"].numpy()[:, ::-1])
    assert float(f["intrinsics"][2]) == pytest.approx(8 - 20.0)


def test_color_jitter_touches_the_image_only():
    s = make_sample()
    out = augment_sample(s, out_size=[30, 40], random_crop=False, crop_scale=[1, 1], flip=False, rotation_deg=0.0,
                         color_jitter=0.3, seed=[8, 8])
    np.testing.assert_array_equal(out["depth"], s["depth"])
    np.testing.assert_array_equal(out["mask"], s["mask"])
    assert not np.array_equal(out["image"], s["image"])


def test_bad_arguments_say_what_was_received():
    with pytest.raises(ValueError, match="crop_scale"):
        augment_sample(make_sample(), **dict(KW, crop_scale=[0.0, 1.0]))
    with pytest.raises(ValueError, match="out_size"):
        resize_sample(make_sample(), [0, 5])


@settings(max_examples=12, deadline=None)
@given(h=st.integers(5, 40), w=st.integers(5, 40), seed=st.integers(0, 2**31 - 1), holes=st.booleans())
def test_augmented_samples_keep_the_contract(h, w, seed, holes):
    s = make_sample(h, w, seed=seed % 1000, holes=holes)
    out = augment_sample(s, seed=[seed, 1], **KW)
    check_contract(out)
    assert set(np.asarray(out["depth"]).ravel().tolist()) <= set(np.asarray(s["depth"]).ravel().tolist()) | {0.0}
