"""The named presets. Each is a builder plus default arguments; configs may override any of them
(``model: {name: ..., params: {...}, spec: {...}}``): e.g. ``head: exp``, ``upsampling: bilinear``,
``encoder_params: {alpha: 0.5}``; ``spec: {kind: disparity}`` for a disparity head.

``keras-depth models`` prints the table of these presets (docs/models.md is its output).
"""
from keras_depth.models.build import register_preset
from keras_depth.models.demon import build_demon_pair
from keras_depth.models.unet import build_unet

# The spine's default: the lecture's U-Net on a MobileNetV2-0.35 encoder, nearest upsampling.
register_preset(
    "unet_mobilenetv2",
    build_unet,
    encoder="mobilenetv2",
    encoder_params={"alpha": 0.35},
    # Slim full 3x3 convs: faster to train on CPU than a wider or a separable decoder (TF's depthwise
    # backward is slow on CPU; docs/training.md has the step times).
    decoder_filters=(64, 48, 32, 16, 8),
)

# The same U-Net on the full-width MobileNetV2 (any alpha in 0.35..1.0 via encoder_params).
register_preset(
    "unet_mobilenetv2_100",
    build_unet,
    encoder="mobilenetv2",
    encoder_params={"alpha": 1.0},
    decoder_filters=(96, 64, 32, 24, 16),
    name="unet_mobilenetv2_100",
)

register_preset(
    "unet_mobilenetv3small",
    build_unet,
    encoder="mobilenetv3small",
    encoder_params={"alpha": 1.0},
    decoder_filters=(64, 48, 32, 16, 8),
    name="unet_mobilenetv3small",
)

register_preset(
    "unet_mobilenetv3large",
    build_unet,
    encoder="mobilenetv3large",
    encoder_params={"alpha": 1.0},
    decoder_filters=(96, 64, 40, 24, 16),
    name="unet_mobilenetv3large",
)

# EfficientNet-Lite0: ReLU6, no squeeze-excite, fixed stem and head (int8-friendly by design).
register_preset(
    "unet_efficientnetlite0",
    build_unet,
    encoder="efficientnetlite0",
    decoder_filters=(96, 64, 40, 24, 16),
    name="unet_efficientnetlite0",
)

# FastDepth-like: MobileNet-class encoder + NNConv5 (separable 5x5, nearest x2, additive skips).
register_preset(
    "nnconv5_mobilenetv2",
    build_unet,
    encoder="mobilenetv2",
    encoder_params={"alpha": 0.5},
    decoder="nnconv5",
    decoder_filters=(96, 64, 32, 24, 16),
    name="nnconv5_mobilenetv2",
)

# Light feature fusion (FPN-style: one width at every scale, additive top-down path).
register_preset(
    "fusion_mobilenetv3small",
    build_unet,
    encoder="mobilenetv3small",
    encoder_params={"alpha": 0.75},
    decoder="fusion",
    decoder_filters=(32, 32, 32, 32, 16),
    name="fusion_mobilenetv3small",
)

# Microcontroller-class: well under 100k parameters; 96x96 is its intended size.
register_preset(
    "tiny_unet",
    build_unet,
    encoder="tiny",
    decoder_filters=(32, 24, 16, 12, 8),
    separable_decoder=True,
    name="tiny_unet",
)

# The same encoder with the depth predicted at 1/2 resolution and upsampled x2 (nearest): no decoder
# stage at full resolution, for issue 5's latency target (int8 at 224x224 <= 0.5x the FastDepth int8
# peer); benchmarks/bench_models.py measures both in one run.
register_preset(
    "tiny_unet_half",
    build_unet,
    encoder="tiny",
    decoder_filters=(32, 24, 16, 12),
    separable_decoder=True,
    output_stride=2,
    name="tiny_unet_half",
)


# Two-image depth + normals + camera motion (DeMoN, Ummenhofer et al. CVPR 2017), phone-sized.
register_preset("demon_pair", build_demon_pair)
