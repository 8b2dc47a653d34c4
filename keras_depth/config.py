"""Experiment configs: YAML files resolved into typed dataclasses, with strict keys.

A config file names every piece by its registry name (dataset type, model preset, loss). Unknown
keys and wrong types are usage errors (exit code 2) that name the dotted key.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from keras_depth.config_ranges import validate
from keras_depth.errors import UsageError
from keras_depth.teacher_spec import TeacherSpec


@dataclasses.dataclass
class DataConfig:
    # Each entry: {type: <dataset registry name>, weight: <sampling weight>, ...reader options}.
    train: list = dataclasses.field(
        default_factory=lambda: [{"type": "synthetic", "split": "train", "count": 1200}]
    )
    val: list = dataclasses.field(default_factory=lambda: [{"type": "synthetic", "split": "val", "count": 48}])
    image_size: list = dataclasses.field(default_factory=lambda: [128, 128])  # [height, width] fed to the model
    batch_size: int = 16
    shuffle_buffer: int = 512
    # Augmentation of the training split; validation is never augmented.
    random_crop: bool = True
    crop_scale: list = dataclasses.field(default_factory=lambda: [0.75, 1.0])
    flip: bool = True
    color_jitter: float = 0.2
    cache_dir: str = "runs/cache"
    strict: bool = False  # True: the first bad sample fails with its path instead of being skipped


@dataclasses.dataclass
class ModelConfig:
    name: str = "unet_mobilenetv2"
    params: dict = dataclasses.field(default_factory=dict)
    weights: typing.Optional[str] = None  # None or "imagenet" (needs network; never a default)
    spec: dict = dataclasses.field(
        default_factory=lambda: {"kind": "depth", "semantics": "metric", "min_depth": 0.25, "max_depth": 10.0}
    )


@dataclasses.dataclass
class StereoConfig:
    """Options of ``train.mode: self-supervised-stereo`` (Monodepth, Godard et al. CVPR 2017)."""

    scales: int = 4  # disparity pyramid levels, full resolution first
    alpha: float = 0.85  # SSIM weight of the appearance term
    smoothness_weight: float = 0.1
    lr_weight: float = 1.0  # left-right consistency
    wrap_mode: str = "edge"  # edge | border (keras_depth.losses.stereo.WRAP_MODES)
    # Decoder tensors (layer names, full resolution first) that carry the heads; [] = the U-Net's.
    feature_layers: list = dataclasses.field(default_factory=list)
    # Width-fraction disparity per 1/m of model output for pairs without focal length or baseline
    # (fx/W * B of a nominal rig); a model trained on such pairs is metric only up to scale.
    fallback_disparity_scale: float = 0.1
    # Initial depth (m) of every disparity head (their logits' bias), or None for the model's own
    # init (sigmoid 0.5, about 2 x min_depth): the photometric gradient only sees a pixel or two
    # around the current match, so a start near the scene's typical depth converges far faster.
    init_depth: typing.Optional[float] = 2.5


@dataclasses.dataclass
class DemonLossWeights:
    """Weights of DeMoN's loss terms (Ummenhofer et al. CVPR 2017, Sec. 4); the values are ours."""

    depth: float = 1.0  # L1 on the scale-normalised inverse depth
    gradient: float = 1.0  # its scale-invariant gradient loss
    normals: float = 1.0
    rotation: float = 10.0  # rotations between neighbouring frames are a few hundredths of a radian
    translation: float = 1.0


@dataclasses.dataclass
class DemonConfig:
    """Options of ``train.mode: demon`` (the two-image ``demon_pair`` model). Its data entries are
    ``{type: synthetic_sequence, split, count, sequence_length}`` (camera trajectories of the synthetic
    generator); it trains on the pairs (i, i + pair_step) of each trajectory with Adam at the constant
    ``train.learning_rate``."""

    pair_step: int = 1
    loss_weights: DemonLossWeights = dataclasses.field(default_factory=DemonLossWeights)


@dataclasses.dataclass
class TrainConfig:
    mode: str = "supervised-metric"  # supervised-metric | relative | self-supervised-stereo | demon
    epochs: int = 10
    steps_per_epoch: typing.Optional[int] = None
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 0.5
    losses: list = dataclasses.field(default_factory=lambda: [{"name": "silog", "weight": 1.0}, {"name": "l1", "weight": 0.1}])
    # float32 | mixed_bfloat16 | mixed_float16: the dtype layers compute in while training (variables,
    # the head and the losses stay float32; the saved model is float32). keras_depth.training.precision.
    precision: str = "float32"
    mixed_precision: bool = False  # older spelling: true = precision mixed_float16
    jit_compile: bool = False  # XLA-compile forward, loss and optimizer step (metrics stay outside)
    steps_per_execution: int = 1  # training steps per call into the TensorFlow graph
    distribute: str = "auto"  # auto | none | mirrored | multiworker | tpu
    tensorboard_images: int = 3
    verbose: int = 1
    # BatchNormalization momentum while training; None keeps the model's (0.99). Short runs need
    # less (0.9): after n steps the moving statistics still hold momentum^n of their initial values.
    batchnorm_momentum: typing.Optional[float] = None
    # After training, recompute every BatchNormalization layer's moving statistics as the plain average
    # of its batch statistics over this many training batches (precise BN, Wu & Johnson 2021); 0 = off.
    # With a low momentum the moving statistics otherwise reflect only the last few batches.
    precise_bn_batches: int = 0
    # BatchNormalization over the global batch of all replicas while training (Keras's synchronized
    # BN): N workers with a global batch B then match one process with batch B.
    sync_batchnorm: bool = False
    stereo: StereoConfig = dataclasses.field(default_factory=StereoConfig)
    demon: DemonConfig = dataclasses.field(default_factory=DemonConfig)


@dataclasses.dataclass
class QATConfig:
    epochs: int = 2
    steps_per_epoch: typing.Optional[int] = None
    learning_rate: float = 2e-4
    float_layers: list = dataclasses.field(default_factory=list)  # layer names kept in float
    # Start the activation ranges from the float model's on export.representative_samples calibration
    # images, not tfmot's [-6, 6] (keras_depth/training/qat_ranges.py). Off by default: on the
    # quickstart it changed QAT's AbsRel by 0.001 (docs/export.md), and a barely trained model (quickstart_local) gave NaN.
    calibrate_ranges: bool = False
    # BatchNormalization layers run in inference mode (their moving statistics fixed; gamma and beta
    # still train) while QAT fine-tunes (Krishnamoorthi 2018, Sec. 3.2; Jacob et al. 2018): the fake-quant nodes then
    # see the folded conv that the TFLite file computes, and a few QAT batches do not overwrite the float
    # run's statistics (its precise BN) with a 10-batch moving average (docs/export.md, issue 17).
    freeze_batchnorm: bool = True
    # float_model | labels: what QAT fine-tunes towards in the supervised modes. float_model: the float
    # model's prediction on each training image, masked like its label (self-distillation,
    # keras_depth/training/qat_distill.py): labels re-fit the model in a few steps and moved its global
    # scale by a few per cent (docs/export.md, issue 17).
    target: str = "float_model"


@dataclasses.dataclass
class ExportConfig:
    variants: list = dataclasses.field(default_factory=lambda: ["float32", "int8_ptq", "int8_qat"])
    representative_samples: int = 64
    io_dtype: str = "uint8"  # interface of the integer variants: uint8 | int8 | float32
    parity_samples: int = 8
    # Calibration set of int8_ptq: dataset entries like data.train's; None = data.train.
    calibration: typing.Optional[list] = None
    float_layers: list = dataclasses.field(default_factory=list)  # Keras layer names kept in float in int8_ptq
    # keras-depth benchmark: resolutions ([height, width]; [] = the model's own), threads, timed runs, peers.
    benchmark_resolutions: list = dataclasses.field(default_factory=list)
    benchmark_threads: list = dataclasses.field(default_factory=lambda: [1, 2])
    benchmark_runs: int = 30
    peers: list = dataclasses.field(default_factory=lambda: ["fastdepth_224_int8"])


@dataclasses.dataclass
class EvalConfig:
    alignment: str = "none"  # none | median | lstsq_depth | lstsq_disparity
    min_depth: typing.Optional[float] = None  # caps; None = the model spec's range
    max_depth: typing.Optional[float] = None
    crop: typing.Optional[list] = None  # [top, bottom, left, right] as fractions of the image
    averaging: str = "per_image"  # per_image | pooled
    figure_samples: int = 4
    # Named evaluation sets for `keras-depth evaluate --data NAME`: NAME -> dataset entries like data.val's.
    datasets: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class DistillConfig:
    """``keras-depth distill``: teachers label unlabelled frames once (a cache), a student learns from
    them (mixed with ``data.train``), then QAT, export and an evaluation on real RGB-D frames
    (docs/distill.md)."""

    # Teachers; a config file writes each as a mapping {kind, path, semantics, input_size, ...}.
    teachers: list[TeacherSpec] = dataclasses.field(default_factory=list)
    # Frame sources (keras_depth.distill.unlabeled): {path: VIDEO|FOLDER|IMAGE|GLOB, every, count, name, weight}.
    sources: list = dataclasses.field(default_factory=list)
    flip_tta: bool = True
    # Pixels where the teacher and its mirrored run disagree by more than this are left out.
    confidence_threshold: float = 0.1
    label_short_side: int = 256  # stored size of the labelled frames (short side, pixels)
    holdout: int = 10  # every holdout-th labelled frame is held out for validation
    # Student losses; None = the recipe for the teachers' semantics (keras_depth.distill.recipe).
    losses: typing.Optional[list] = None
    evaluate_real: bool = True  # score teacher and student on ../shared/data/rgbd (when present)
    latency_runs: int = 50  # timed int8 invocations per model (2 threads)


@dataclasses.dataclass
class Config:
    name: str = "quickstart"
    output_dir: str = "runs/quickstart"
    seed: int = 0
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    qat: QATConfig = dataclasses.field(default_factory=QATConfig)
    export: ExportConfig = dataclasses.field(default_factory=ExportConfig)
    eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)
    distill: DistillConfig = dataclasses.field(default_factory=DistillConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def sha256(self) -> str:
        """Hash of the resolved config, stored in exported manifests."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()


def _check_type(value: Any, annotation: Any, key: str) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        if value is None and type(None) in args:
            return None
        annotation = next(a for a in args if a is not type(None))
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    expected = {"int": int, "float": float, "bool": bool, "str": str, "list": list, "dict": dict}.get(
        getattr(annotation, "__name__", str(annotation)), None
    )
    if expected is not None:
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if not ok:
            raise UsageError(
                f"config key '{key}': expected {expected.__name__}, got {type(value).__name__} {value!r}"
            )
    return value


def _from_dict(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise UsageError(f"config key '{prefix or '<root>'}': expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        key = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
        raise UsageError(f"unknown config key '{key}' (expected one of: {', '.join(sorted(fields))})")
    kwargs = {}
    for name, value in data.items():
        key = f"{prefix}.{name}" if prefix else name
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            kwargs[name] = _from_dict(hint, value, key)
        elif typing.get_origin(hint) is list and dataclasses.is_dataclass(item := typing.get_args(hint)[0]):
            # Such items parse themselves (TeacherSpec.from_dict), with their own one-line errors.
            kwargs[name] = [item.from_dict(v, f"{key}[{i}]") for i, v in enumerate(_check_type(value, list, key))]
        else:
            kwargs[name] = _check_type(value, hint, key)
    return cls(**kwargs)


def _deep_merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for k, v in update.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def parse_override(text: str) -> dict:
    """``a.b.c=VALUE`` (VALUE parsed as YAML) -> {"a": {"b": {"c": VALUE}}}."""
    if "=" not in text:
        raise UsageError(f"--set {text!r}: expected KEY=VALUE, e.g. train.epochs=3")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise UsageError(f"--set {key}: value {raw!r} is not valid YAML ({e.__class__.__name__})") from None
    out: dict = {}
    cur = out
    parts = key.strip().split(".")
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value
    return out


def load_config(path: typing.Optional[str | os.PathLike] = None, overrides: typing.Sequence[str] = ()) -> Config:
    """Read a YAML config (or the defaults when ``path`` is None) and apply ``KEY=VALUE`` overrides."""
    data: dict = {}
    if path is not None:
        data = _read_yaml(Path(path))
    for o in overrides:
        data = _deep_merge(data, parse_override(o))
    return validate(_from_dict(Config, data, ""))


def _read_yaml(p: Path) -> dict:
    """The top-level mapping of a config file; a one-line UsageError for a missing, unreadable,
    binary, empty or non-YAML file."""
    if p.is_dir():
        raise UsageError(f"config file {p}: is a folder, expected a YAML file")
    if not p.is_file():
        raise UsageError(f"config file not found: {p}")
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise UsageError(f"config file {p}: cannot read ({e.strerror})") from None
    if b"\0" in raw:
        raise UsageError(f"config file {p}: a binary file, expected YAML text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"config file {p}: not UTF-8 text (byte {e.start}), expected YAML") from None
    if not text.strip():
        raise UsageError(f"config file {p}: empty, expected a YAML mapping of config keys")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise UsageError(f"config file {p}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise UsageError(f"config file {p}: expected a mapping of config keys at the top level, got {type(data).__name__}")
    return data


def config_from_dict(data: dict) -> Config:
    return validate(_from_dict(Config, data, ""))


def save_config(config: Config, path: str | os.PathLike) -> None:
    """Write the resolved config as JSON (atomically), next to the weights it produced."""
    from keras_depth.io import atomic_write_text

    atomic_write_text(path, json.dumps(config.to_dict(), indent=2, sort_keys=True))
