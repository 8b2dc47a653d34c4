"""How ground truth travels through ``model.fit``: one tensor, so plain Keras losses can take it.

``y_true`` is ``[B, H, W, 3]``: channel 0 the ground-truth map (metres for metric/relative
semantics, disparity for affine-disparity semantics; 0 where invalid), channel 1 the valid mask
(1.0 valid, 0.0 invalid), channel 2 the sample's semantics code broadcast over the image
(see ``keras_depth.spec``).
"""
from __future__ import annotations

import tensorflow as tf

TARGET_CHANNELS = 3


def pack_target(depth: tf.Tensor, mask: tf.Tensor, semantics: tf.Tensor) -> tf.Tensor:
    """[..., H, W, 1] depth and mask plus a scalar (or [B]) semantics -> [..., H, W, 3]."""
    depth = tf.convert_to_tensor(depth, tf.float32)
    mask = tf.cast(mask, tf.float32)
    sem = tf.cast(semantics, tf.float32)
    sem = tf.reshape(sem, tf.concat([tf.shape(sem), tf.ones([3], tf.int32)], 0))
    sem = tf.broadcast_to(sem, tf.shape(depth))
    # Invalid pixels carry 0, never NaN/Inf, so a masked-out value cannot leak through a product.
    depth = tf.where(mask > 0.5, depth, tf.zeros_like(depth))
    return tf.concat([depth, mask, sem], axis=-1)


def unpack_target(y_true: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """-> depth [B,H,W,1], mask [B,H,W,1] (float 0/1), semantics [B] (int32)."""
    y_true = tf.convert_to_tensor(y_true, tf.float32)
    depth = y_true[..., 0:1]
    mask = tf.cast(y_true[..., 1:2] > 0.5, tf.float32)
    semantics = tf.cast(tf.round(y_true[..., 0, 0, 2]), tf.int32)
    return depth, mask, semantics
