"""Evaluate Keras and TFLite variants on a dataset with one protocol, and write the report folder.

Every number goes through ``keras_depth.metrics.depth_metrics`` (the one metrics implementation);
TFLite files run through ai-edge-litert driven by their manifests, as a phone would run them.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from keras_depth.config import Config
from keras_depth.errors import UsageError
from keras_depth.io import atomic_write_bytes, atomic_write_text
from keras_depth.metrics.depth_metrics import METRIC_NAMES, compute_metrics

Predictor = Callable[[np.ndarray], np.ndarray]  # uint8 RGB [h, w, 3] -> depth [h, w]


@dataclasses.dataclass
class EvalSet:
    images: np.ndarray  # uint8 [N, h, w, 3]
    depth: np.ndarray  # float32 [N, h, w]
    mask: np.ndarray  # float32 [N, h, w]
    name: str


def load_eval_set(config: Config, split: str = "val", limit: Optional[int] = None) -> EvalSet:
    from keras_depth.data.pipeline import make_dataset
    from keras_depth.data.target import unpack_target

    ds = make_dataset(config, split, batch_size=1, training=False, repeat=False)
    if limit:
        ds = ds.take(limit)
    imgs, depths, masks = [], [], []
    for x, y in ds:
        d, m, _ = unpack_target(y)
        imgs.append(np.round(x.numpy()[0] * 255).astype(np.uint8))
        depths.append(d.numpy()[0, ..., 0])
        masks.append(m.numpy()[0, ..., 0])
    if not imgs:
        raise UsageError(f"evaluate: data.{split} yielded no sample")
    names = "+".join(e.get("type", "?") for e in getattr(config.data, split))
    return EvalSet(np.stack(imgs), np.stack(depths), np.stack(masks), f"{names} ({split}, {len(imgs)} images)")


def keras_predictor(model, spec) -> Predictor:
    def predict(rgb: np.ndarray) -> np.ndarray:
        y = model.predict(rgb[None].astype(np.float32) / 255.0, verbose=0)[0, ..., 0]
        return np.asarray(spec.output_to_depth(y), np.float32)

    return predict


def tflite_predictor(path: Path, num_threads: int = 2) -> tuple[Predictor, object]:
    from export.runtime import TFLiteDepthEstimator

    est = TFLiteDepthEstimator(path, num_threads=num_threads)
    return est.predict_depth, est


def constant_predictor(value: float) -> Predictor:
    return lambda rgb: np.full(rgb.shape[:2], value, np.float32)


def protocol(config: Config) -> dict:
    e = config.eval
    return {"alignment": e.alignment, "min_depth": e.min_depth, "max_depth": e.max_depth,
            "crop": e.crop, "averaging": e.averaging}


def _crop_mask(mask: np.ndarray, crop: Optional[Sequence[float]]) -> np.ndarray:
    if not crop:
        return mask
    top, bottom, left, right = crop
    h, w = mask.shape[-2:]
    keep = np.zeros_like(mask)
    keep[..., int(top * h):int(bottom * h), int(left * w):int(right * w)] = 1
    return mask * keep


def evaluate_predictors(predictors: dict[str, Predictor], data: EvalSet, config: Config) -> dict[str, dict]:
    """Metrics (and ms per frame) of each predictor on ``data`` under the config's protocol."""
    e = config.eval
    mask = _crop_mask(data.mask, e.crop)
    results = {}
    for name, predict in predictors.items():
        start = time.perf_counter()
        preds = np.stack([predict(img) for img in data.images])
        ms = (time.perf_counter() - start) * 1000 / len(data.images)
        m = compute_metrics(data.depth, preds, mask, alignment=e.alignment, min_depth=e.min_depth,
                            max_depth=e.max_depth, averaging=e.averaging)
        m["ms_per_frame"] = ms
        results[name] = {"metrics": m, "predictions": preds}
    return results


def _fmt(v: float) -> str:
    return f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}"


def markdown_table(results: dict[str, dict], sizes: dict[str, float]) -> str:
    cols = list(METRIC_NAMES)
    head = "| variant | size (KiB) | " + " | ".join(cols) + " | ms/frame |"
    lines = [head, "|" + "---|" * (len(cols) + 3)]
    for name, r in results.items():
        m = r["metrics"]
        size = f"{sizes[name]:.0f}" if name in sizes else "-"
        lines.append(f"| {name} | {size} | " + " | ".join(_fmt(m[c]) for c in cols) + f" | {m['ms_per_frame']:.1f} |")
    return "\n".join(lines)


def write_figure(path: Path, data: EvalSet, results: dict[str, dict], count: int, vmin: float, vmax: float) -> None:
    """Rows of: input | ground truth | each variant's depth | the last variant's relative-error map."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_depth.visualize import colorize

    names = list(results)
    count = min(count, len(data.images))
    cols = 3 + len(names)
    fig, axes = plt.subplots(count, cols, figsize=(2.2 * cols, 2.3 * count), squeeze=False)
    last = names[-1]
    for i in range(count):
        gt, mask = data.depth[i], data.mask[i]
        panels = [("input", data.images[i]), ("ground truth", colorize(gt, vmin, vmax, mask=mask))]
        panels += [(n, colorize(results[n]["predictions"][i], vmin, vmax)) for n in names]
        for j, (title, img) in enumerate(panels):
            axes[i, j].imshow(img)
            axes[i, j].set_title(title if i == 0 else "", fontsize=8)
        rel = np.where(mask > 0.5, np.abs(results[last]["predictions"][i] - gt) / np.maximum(gt, 1e-6), np.nan)
        im = axes[i, -1].imshow(rel, cmap="magma", vmin=0, vmax=0.5)
        axes[i, -1].set_title(f"|err|/gt ({last})" if i == 0 else "", fontsize=8)
    for ax in axes.ravel():
        ax.axis("off")
    fig.colorbar(im, ax=axes[:, -1].tolist(), fraction=0.05)
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def write_report(out_dir: Path, title: str, data: EvalSet, results: dict[str, dict], sizes: dict[str, float],
                 config: Config, extra: Optional[dict] = None) -> Path:
    """``report.md``, ``report.json`` and ``figure.png`` under ``out_dir``; returns the Markdown path."""
    from keras_depth.spec import DepthSpec

    out_dir.mkdir(parents=True, exist_ok=True)
    spec = DepthSpec.from_dict(config.model.spec)
    proto = protocol(config)
    table = markdown_table(results, sizes)
    md = [f"# {title}", "", f"Data: {data.name}. Protocol: " + ", ".join(f"{k}={v}" for k, v in proto.items()) + ".", "",
          table, "", "![samples](figure.png)", ""]
    if extra:
        md += ["```json", json.dumps(extra, indent=2), "```", ""]
    atomic_write_text(out_dir / "report.md", "\n".join(md))
    payload = {"data": data.name, "protocol": proto, "config_sha256": config.sha256(),
               "results": {n: {**r["metrics"], "size_kib": sizes.get(n)} for n, r in results.items()}, **(extra or {})}
    atomic_write_text(out_dir / "report.json", json.dumps(payload, indent=2))
    write_figure(out_dir / "figure.png", data, results, config.eval.figure_samples, spec.min_depth, spec.max_depth)
    return out_dir / "report.md"


def train_median_depth(config: Config, limit: int = 256) -> float:
    """The constant-depth baseline: the median valid depth of the training split."""
    data = load_eval_set(config, "train", limit)
    return float(np.median(data.depth[data.mask > 0.5]))


def evaluate_run(config: Config, keras_model=None, tflite_paths: Sequence[Path] = (), baseline: bool = True,
                 log: Callable[[str], None] = print) -> tuple[Path, dict]:
    """Evaluate the Keras model and the TFLite files of a run on its held-out split; write the report."""
    from keras_depth.spec import DepthSpec

    spec = DepthSpec.from_dict(config.model.spec)
    data = load_eval_set(config, "val")
    predictors: dict[str, Predictor] = {}
    sizes: dict[str, float] = {}
    if baseline:
        predictors["baseline (constant median)"] = constant_predictor(train_median_depth(config))
    if keras_model is not None:
        predictors["keras float"] = keras_predictor(keras_model, spec)
    keep = []
    for p in tflite_paths:
        from export.manifest import read_manifest

        name = f"tflite {read_manifest(p).variant}"
        predictors[name], est = tflite_predictor(Path(p))
        keep.append(est)
        sizes[name] = Path(p).stat().st_size / 1024
    log(f"evaluating {len(predictors)} variants on {data.name}")
    results = evaluate_predictors(predictors, data, config)
    report = write_report(Path(config.output_dir) / "report", f"{config.name}: float vs int8", data, results, sizes, config)
    print(markdown_table(results, sizes))
    return report, {n: r["metrics"] for n, r in results.items()}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from keras_depth.training.cli import add_config_arguments

    add_config_arguments(parser)
    parser.add_argument("--model", help="Keras model (default: OUTPUT_DIR/model.keras if present)")
    parser.add_argument("--tflite", action="append", default=[], metavar="PATH",
                        help="a .tflite with a manifest beside it (repeatable; default: OUTPUT_DIR/model_*.tflite)")


def run(args: argparse.Namespace) -> int:
    from keras_depth.training.cli import load_config_from_args
    from keras_depth.training.trainer import load_trained_model

    config = load_config_from_args(args)
    out = Path(config.output_dir)
    model_path = Path(args.model) if args.model else out / "model.keras"
    model = load_trained_model(model_path) if (args.model or model_path.exists()) else None
    tflites = [Path(p) for p in args.tflite] or sorted(out.glob("model_*.tflite"))
    report, _ = evaluate_run(config, model, tflites)
    print(f"report: {report}")
    return 0
