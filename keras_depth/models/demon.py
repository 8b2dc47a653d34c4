"""A phone-sized two-image network after DeMoN (Ummenhofer et al., "DeMoN: Depth and Motion Network for
Learning Monocular Stereo", CVPR 2017): an image pair in; depth, surface normals and the relative camera
motion out. One flat functional graph: the two RGB images are concatenated along channels (DeMoN's
bootstrap net does the same) and share one encoder-decoder.

Outputs (names are the keys ``model.fit`` targets use):
- ``depth``: inverse depth of image 1 in units of the camera baseline, ``xi = |t| / depth`` (DeMoN
  normalises the translation to unit length and scales depth with it), bounded by ``spec``'s
  disparity range; [B, H, W, 1].
- ``normals``: unit surface normals of image 1 in camera-1 coordinates (x right, y down, z forward;
  facing the camera, so z < 0); [B, H, W, 3].
- ``motion``: [B, 6], axis-angle rotation (radians) and unit translation of camera 2 in camera 1's frame,
  i.e. ``T_rel = inv(T1) @ T2`` for camera-to-world poses T (``training.demon_targets``).
"""
from __future__ import annotations

from typing import Optional, Sequence

from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras, layers
from keras_depth.models.blocks import conv_bn_relu, depth_head, separable_conv_bn_relu
from keras_depth.models.decoders import unet_decoder
from keras_depth.models.layers import L2Normalize
from keras_depth.spec import DepthSpec

# Depth in baselines: a phone moving a few cm between frames sees 0.3..10 m, i.e. ~3..1000 baselines.
DEMON_SPEC = DepthSpec(kind="disparity", semantics="relative", min_depth=1.0, max_depth=1000.0, units="baseline")


def build_demon_pair(
    input_shape: Sequence[int] = (128, 128, 3),
    spec: Optional[DepthSpec] = None,
    weights: Optional[str] = None,
    encoder_filters: Sequence[int] = (24, 32, 48, 64, 96),
    decoder_filters: Sequence[int] = (64, 48, 32, 16, 16),
    upsampling: str = "nearest",
    head: str = "sigmoid",
    name: str = "demon_pair",
) -> keras.Model:
    """Two RGB images in [0, 1] (inputs ``image1``, ``image2``) -> {depth, normals, motion}."""
    if weights is not None:
        raise UsageError("demon_pair: weights='imagenet' is not available (a 6-channel pair input); use weights=None")
    spec = spec or DEMON_SPEC
    if spec.kind != "disparity":
        raise UsageError(f"demon_pair spec kind: expected 'disparity' (DeMoN predicts inverse depth), got {spec.kind!r}")
    h, w = int(input_shape[0]), int(input_shape[1])
    if h % 32 or w % 32:
        raise UsageError(f"input size must be a multiple of 32 (five 2x downsamplings), got {h}x{w}")
    if len(encoder_filters) != 5:
        raise UsageError(f"demon_pair encoder_filters: expected 5 values (1/2 .. 1/32), got {list(encoder_filters)}")
    im1 = keras.Input((h, w, 3), name="image1")
    im2 = keras.Input((h, w, 3), name="image2")
    x = layers.Concatenate(name="pair")([im1, im2])
    x = layers.DepthwiseConv2D(1, name="input_to_pm1", trainable=False, use_bias=True,
                               depthwise_initializer=keras.initializers.Constant(2.0),
                               bias_initializer=keras.initializers.Constant(-1.0))(x)
    # Full convs at the first two scales: they see the pixel correspondences between the two images.
    x = conv_bn_relu(x, encoder_filters[0], 3, stride=2, name="enc0")
    x = conv_bn_relu(x, encoder_filters[0], 3, name="enc0b")
    feats = [x]
    x = conv_bn_relu(x, encoder_filters[1], 3, stride=2, name="enc1")
    feats.append(x)
    for i, f in enumerate(encoder_filters[2:], start=2):
        x = layers.DepthwiseConv2D(3, strides=2, padding="same", use_bias=False, name=f"enc{i}_dw")(x)
        x = layers.ReLU(6.0, name=f"enc{i}_dw_relu")(layers.BatchNormalization(name=f"enc{i}_dw_bn")(x))
        x = conv_bn_relu(x, f, 1, name=f"enc{i}_pw")
        x = separable_conv_bn_relu(x, f, 3, name=f"enc{i}b")
        feats.append(x)
    # Motion from the coarsest features (DeMoN regresses r, t with fully connected layers).
    m = conv_bn_relu(feats[-1], 64, 1, name="motion_pw")
    m = layers.GlobalAveragePooling2D(name="motion_pool")(m)
    m = layers.Dense(64, activation="relu", name="motion_fc")(m)
    motion = layers.Dense(6, name="motion")(m)
    y = unet_decoder(feats, decoder_filters, upsampling, separable=True)
    depth = depth_head(y, spec, name="depth", parameterisation=head)
    n = layers.Conv2D(3, 3, padding="same", name="normals_logits")(y)
    normals = L2Normalize(name="normals")(n)
    return keras.Model([im1, im2], {"depth": depth, "normals": normals, "motion": motion}, name=name)
