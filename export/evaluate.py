"""Evaluate Keras, SavedModel and TFLite variants on a dataset with one protocol; write the report folder.

Every number goes through ``keras_depth.metrics.depth_metrics`` (the one metrics implementation);
TFLite files (ours or a third party's, given a manifest) run through ai-edge-litert driven by their
manifests, as a phone would run them. The protocol (alignment, caps, crop, averaging) is printed in
every output: the Markdown and JSON tables and the plot titles.
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
    from keras_depth.target import unpack_target

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


def _resize_rgb(rgb: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """The same resize the manifest runtime applies (export.runtime.TFLiteDepthEstimator.preprocess)."""
    import cv2

    if rgb.shape[:2] == tuple(hw):
        return rgb
    interp = cv2.INTER_AREA if rgb.shape[0] > hw[0] else cv2.INTER_LINEAR
    return cv2.resize(rgb, (hw[1], hw[0]), interpolation=interp)


def keras_predictor(model, spec) -> Predictor:
    import tensorflow as tf

    hw = tuple(int(v) for v in model.input_shape[1:3])
    # One graph trace, then milliseconds a frame; an eager call walks every layer in Python each time.
    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def predict(rgb: np.ndarray) -> np.ndarray:
        x = _resize_rgb(rgb, hw)[None].astype(np.float32) / 255.0
        y = forward(x).numpy()[0, ..., 0]
        return np.asarray(spec.output_to_depth(y), np.float32)

    return predict


def saved_model_predictor(path: Path) -> Predictor:
    """A SavedModel written by ``keras-depth export`` (its manifest is ``manifest.json`` inside)."""
    from export.convert import saved_model_predict
    from export.manifest import read_manifest
    from keras_depth.spec import DepthSpec

    m = read_manifest(path)
    o = m.output
    spec = DepthSpec(kind=o.kind, semantics=o.semantics, min_depth=1 / o.range[1] if o.kind == "disparity" else o.range[0],
                     max_depth=1 / o.range[0] if o.kind == "disparity" else o.range[1])
    run = saved_model_predict(path)
    hw = (m.input.height, m.input.width)

    def predict(rgb: np.ndarray) -> np.ndarray:
        y = run(_resize_rgb(rgb, hw)[None].astype(np.float32) / 255.0)[0]
        return np.asarray(spec.output_to_depth(y), np.float32)

    return predict


def tflite_predictor(path: Path, num_threads: int = 2, manifest: Optional[Path] = None) -> tuple[Predictor, object]:
    """``path`` with the manifest beside it, embedded in it, or given as ``manifest`` (a JSON file)."""
    from export.manifest import read_manifest
    from export.runtime import TFLiteDepthEstimator

    est = TFLiteDepthEstimator(path, manifest=read_manifest(path, manifest), num_threads=num_threads)
    return est.predict_depth, est


def load_predictor(ref: str, config: Config, num_threads: int = 2) -> tuple[str, Predictor, Optional[float]]:
    """(name, predictor, size in KiB) for a model reference:
    ``peer:NAME`` (export.peers), ``MODEL.tflite`` or ``MODEL.tflite=MANIFEST.json``, a Keras file
    (``.keras``/``.h5``), or a SavedModel folder (with ``manifest.json`` inside)."""
    from export.manifest import read_manifest

    if ref.startswith("peer:"):
        from export.peers import peer_manifest, peer_path

        name = ref[5:]
        path, manifest = peer_path(name), peer_manifest(name)
        from export.runtime import TFLiteDepthEstimator

        est = TFLiteDepthEstimator(path, manifest=manifest, num_threads=num_threads)
        return f"peer {name}", est.predict_depth, path.stat().st_size / 1024
    model_ref, _, manifest_ref = ref.partition("=")
    p = Path(model_ref)
    if not p.exists():
        raise UsageError(f"model not found: {p}")
    if p.suffix == ".tflite":
        predict, _ = tflite_predictor(p, num_threads, Path(manifest_ref) if manifest_ref else None)
        return f"tflite {read_manifest(p, manifest_ref or None).variant}", predict, p.stat().st_size / 1024
    if p.is_dir() and (p / "saved_model.pb").is_file():
        size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) / 1024
        return "saved_model", saved_model_predictor(p), size
    if p.suffix in (".keras", ".h5"):
        from keras_depth.spec import DepthSpec
        from keras_depth.training.trainer import load_trained_model

        return f"keras float ({p.name})", keras_predictor(load_trained_model(p), DepthSpec.from_dict(config.model.spec)), p.stat().st_size / 1024
    raise UsageError(f"{p}: expected a .tflite, a .keras/.h5, a SavedModel folder or peer:NAME")


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
    from keras_depth.metrics.depth_metrics import per_image_metrics

    e = config.eval
    mask = _crop_mask(data.mask, e.crop)
    results = {}
    for name, predict in predictors.items():
        start = time.perf_counter()
        preds = np.stack([_to_gt_size(predict(img), data.depth.shape[1:]) for img in data.images])
        ms = (time.perf_counter() - start) * 1000 / len(data.images)
        kw = dict(alignment=e.alignment, min_depth=e.min_depth, max_depth=e.max_depth)
        m = compute_metrics(data.depth, preds, mask, averaging=e.averaging, **kw)
        m["ms_per_frame"] = ms
        per_image, _ = per_image_metrics(data.depth, preds, mask, **kw)
        results[name] = {"metrics": m, "predictions": preds, "per_image": per_image}
    return results


def _to_gt_size(pred: np.ndarray, hw: tuple[int, ...]) -> np.ndarray:
    """A prediction at the model's resolution resized (bilinear) to the ground truth's."""
    import cv2

    pred = np.asarray(pred, np.float32)
    if pred.shape == tuple(hw):
        return pred
    return cv2.resize(pred, (int(hw[1]), int(hw[0])), interpolation=cv2.INTER_LINEAR)


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


def protocol_label(config: Config) -> str:
    return ", ".join(f"{k}={v}" for k, v in protocol(config).items())


def _png(fig, path: Path) -> None:
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def _is_int8(name: str) -> bool:
    return "int8" in name or name.startswith("peer")


def write_plots(out_dir: Path, data: EvalSet, results: dict[str, dict], config: Config) -> list[str]:
    """``bars.png`` (AbsRel and delta1 per variant), ``error_hist.png`` (per-pixel log10(pred/gt) after
    the protocol's alignment), ``scatter.png`` (per-image AbsRel: each int8 variant against the first
    float one). Returns the file names written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_depth.metrics.depth_metrics import align_prediction, valid_mask

    e = config.eval
    label = f"{data.name}\n{protocol_label(config)}"
    names = list(results)
    written = []

    fig, axes = plt.subplots(1, 2, figsize=(max(6, 1.3 * len(names) + 3), 3.6))
    for ax, key in zip(axes, ("abs_rel", "delta1")):
        vals = [results[n]["metrics"][key] for n in names]
        bars = ax.bar(range(len(names)), vals, color=["#d95f02" if _is_int8(n) else "#1b9e77" for n in names])
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=7)
        ax.set_title(key, fontsize=9)
    fig.suptitle(label, fontsize=8, y=1.04)
    _png(fig, out_dir / "bars.png")
    written.append("bars.png")

    mask = _crop_mask(data.mask, e.crop)
    valid = valid_mask(data.depth, mask, e.min_depth, e.max_depth)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    bins = np.linspace(-0.5, 0.5, 101)
    for n in names:
        errs = []
        for b in range(len(data.images)):
            v = valid[b]
            if v.any():
                g = data.depth[b][v].astype(np.float64)
                p = align_prediction(g, results[n]["predictions"][b][v].astype(np.float64), e.alignment, e.max_depth)
                if e.min_depth is not None or e.max_depth is not None:
                    p = np.clip(p, e.min_depth, e.max_depth)
                errs.append(np.log10(np.maximum(p, 1e-8) / g))
        if errs:
            ax.hist(np.clip(np.concatenate(errs), bins[0], bins[-1]), bins=bins, histtype="step", label=n, density=True)
    ax.set_xlabel("log10(pred / gt) per valid pixel")
    ax.legend(fontsize=7)
    ax.set_title(label, fontsize=8)
    _png(fig, out_dir / "error_hist.png")
    written.append("error_hist.png")

    # our float model against our int8 variants; peers are other networks, not quantized twins
    floats = [n for n in names if not _is_int8(n) and not n.startswith("baseline")]
    ints = [n for n in names if "int8" in n and not n.startswith("peer")]
    if floats and ints:
        ref = floats[0]
        i = METRIC_NAMES.index("abs_rel")
        x = results[ref]["per_image"][:, i]
        fig, ax = plt.subplots(figsize=(4.4, 4.2))
        for n in ints:
            ax.scatter(x, results[n]["per_image"][:, i], s=12, label=n)
        lim = np.nanmax([np.nanmax(x)] + [np.nanmax(results[n]["per_image"][:, i]) for n in ints]) * 1.05
        ax.plot([0, lim], [0, lim], "k--", lw=0.8)
        ax.set_xlim(0, lim)
        ax.set_ylim(0, lim)
        ax.set_xlabel(f"per-image AbsRel, {ref}")
        ax.set_ylabel("per-image AbsRel, int8")
        ax.legend(fontsize=7)
        ax.set_title(label, fontsize=7)
        _png(fig, out_dir / "scatter.png")
        written.append("scatter.png")
    return written


def write_report(out_dir: Path, title: str, data: EvalSet, results: dict[str, dict], sizes: dict[str, float],
                 config: Config, extra: Optional[dict] = None) -> Path:
    """``report.md``, ``report.json``, ``figure.png`` (sample grid) and the plots of ``write_plots``
    under ``out_dir``; returns the Markdown path."""
    from keras_depth.spec import DepthSpec

    out_dir.mkdir(parents=True, exist_ok=True)
    spec = DepthSpec.from_dict(config.model.spec)
    proto = protocol(config)
    table = markdown_table(results, sizes)
    write_figure(out_dir / "figure.png", data, results, config.eval.figure_samples, spec.min_depth, spec.max_depth)
    plots = write_plots(out_dir, data, results, config)
    md = [f"# {title}", "", f"Data: {data.name}. Protocol: {protocol_label(config)}.", "", table, "",
          "![samples](figure.png)", ""] + [f"![{p[:-4]}]({p})" for p in plots] + [""]
    if extra:
        md += ["```json", json.dumps(extra, indent=2), "```", ""]
    atomic_write_text(out_dir / "report.md", "\n".join(md))
    payload = {"data": data.name, "protocol": proto, "config_sha256": config.sha256(),
               "results": {n: {**r["metrics"], "size_kib": sizes.get(n),
                               "per_image_abs_rel": [None if np.isnan(v) else float(v) for v in r["per_image"][:, 0]]}
                           for n, r in results.items()}, **(extra or {})}
    atomic_write_text(out_dir / "report.json", json.dumps(payload, indent=2))
    return out_dir / "report.md"


def train_median_depth(config: Config, limit: int = 256) -> float:
    """The constant-depth baseline: the median valid depth of the training split."""
    data = load_eval_set(config, "train", limit)
    return float(np.median(data.depth[data.mask > 0.5]))


def eval_set_for(config: Config, name: str = "val", limit: Optional[int] = None) -> EvalSet:
    """The evaluation set called ``name``: a split of the config (``val``, ``train``), an entry of
    ``eval.datasets`` (dataset entries, any registered type), or a built-in: ``real_rgbd`` (the real
    indoor RGB-D frames of ../shared/data through the registered readers), ``nyu_fastdepth_sample``."""
    if name in ("val", "train"):
        return load_eval_set(config, name, limit)
    if name == "nyu_fastdepth_sample":
        from export.peers import nyu_fastdepth_sample

        return nyu_fastdepth_sample()[0]
    if name in config.eval.datasets:
        entries = config.eval.datasets[name]
    elif name == "real_rgbd":
        from export.real_frames import real_rgbd_entries

        entries = real_rgbd_entries(Path(config.data.cache_dir))
    else:
        raise UsageError(f"--data {name!r}: expected val, train, real_rgbd, nyu_fastdepth_sample or a key of "
                         f"eval.datasets ({sorted(config.eval.datasets)})")
    if not isinstance(entries, list):
        raise UsageError(f"config key 'eval.datasets.{name}': expected a list of dataset entries")
    import dataclasses as dc

    sub = dc.replace(config, data=dc.replace(config.data, val=list(entries)))
    data = load_eval_set(sub, "val", limit)
    if name == "real_rgbd":
        data.name = f"real_rgbd (Redwood x5, TUM x3, SUN x1; {len(data.images)} real indoor frames, resized to {data.images.shape[1]}x{data.images.shape[2]})"
    else:
        data.name = data.name.replace("(val,", f"({name},")
    return data


def record_eval_in_manifest(path: Path, summary: dict) -> bool:
    """Store ``summary`` as ``metrics.eval`` in the manifest beside ``path`` and in the copy embedded
    in it. Skips (False) symlinks and files without a JSON manifest (third-party models)."""
    from export.manifest import manifest_path, read_manifest, write_manifest

    path = Path(path)
    if path.is_symlink() or path.suffix != ".tflite" or not manifest_path(path).is_file():
        return False
    from export.convert import write_tflite
    from export.metadata import embedded_manifest_text

    blob = path.read_bytes()
    if embedded_manifest_text(blob) is None:
        return False
    m = read_manifest(path)
    m.metrics["eval"] = summary
    write_tflite(path, blob, m)
    return True


def evaluate_run(config: Config, keras_model=None, tflite_paths: Sequence[Path] = (), baseline: bool = True,
                 log: Callable[[str], None] = print, data: Optional[EvalSet] = None, out_dir: Optional[Path] = None,
                 models: Sequence[str] = (), record: bool = True, title: Optional[str] = None) -> tuple[Path, dict]:
    """Evaluate the Keras model, the TFLite files of a run and any other ``models`` (references as in
    :func:`load_predictor`) on ``data`` (default: the held-out split); write the report to ``out_dir``
    (default OUTPUT_DIR/report). With ``record``, each of our ``.tflite`` gets ``metrics.eval`` in its manifest."""
    from keras_depth.spec import DepthSpec

    spec = DepthSpec.from_dict(config.model.spec)
    data = data if data is not None else load_eval_set(config, "val")
    predictors: dict[str, Predictor] = {}
    sizes: dict[str, float] = {}
    if baseline:
        predictors["baseline (constant median)"] = constant_predictor(train_median_depth(config))
    if keras_model is not None:
        predictors["keras float"] = keras_predictor(keras_model, spec)
    first = [r for r in models if not r.startswith("peer:") and "=" not in r]
    for ref in first:
        name, predictors[name], size = load_predictor(ref, config)
        sizes[name] = size
    keep, names = [], {}
    for p in tflite_paths:
        from export.manifest import read_manifest

        name = f"tflite {read_manifest(p).variant}"
        predictors[name], est = tflite_predictor(Path(p))
        keep.append(est)
        names[name] = Path(p)
        sizes[name] = Path(p).stat().st_size / 1024
    for ref in [r for r in models if r not in first]:
        name, predictors[name], size = load_predictor(ref, config)
        sizes[name] = size
    log(f"evaluating {len(predictors)} variants on {data.name}; protocol: {protocol_label(config)}")
    results = evaluate_predictors(predictors, data, config)
    out = Path(out_dir) if out_dir else Path(config.output_dir) / "report"
    report = write_report(out, title or f"{config.name}: float vs int8", data, results, sizes, config)
    print(markdown_table(results, sizes))
    if record:
        for name, path in names.items():
            m = results[name]["metrics"]
            record_eval_in_manifest(path, {"data": data.name, "protocol": protocol(config),
                                           **{k: float(m[k]) for k in METRIC_NAMES}})
    return report, {n: r["metrics"] for n, r in results.items()}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from keras_depth.cli.common import add_config_arguments

    add_config_arguments(parser)
    parser.add_argument("--model", action="append", default=[], metavar="PATH",
                        help="a Keras file or SavedModel folder (repeatable; default: OUTPUT_DIR/model.keras if present)")
    parser.add_argument("--tflite", action="append", default=[], metavar="PATH[=MANIFEST]",
                        help="a .tflite with a manifest beside it, embedded, or given after '=' "
                        "(repeatable; default: OUTPUT_DIR/model_*.tflite)")
    parser.add_argument("--peer", action="append", default=[], metavar="NAME",
                        help="a third-party model with a generated manifest (export.peers), e.g. fastdepth_224_int8")
    parser.add_argument("--data", default="val", help="evaluation set: val, train, real_rgbd, nyu_fastdepth_sample "
                        "or a key of eval.datasets (default: val)")
    parser.add_argument("--limit", type=int, help="evaluate at most this many images")
    parser.add_argument("--out", help="report folder (default: OUTPUT_DIR/report, or OUTPUT_DIR/report_DATA)")
    parser.add_argument("--no-baseline", action="store_true", help="leave out the constant-median baseline")
    from keras_depth.ar.temporal_eval import add_temporal_arguments

    add_temporal_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "temporal", False):
        from keras_depth.ar.temporal_eval import run_temporal

        return run_temporal(args)
    from keras_depth.cli.common import config_from_args as load_config_from_args

    config = load_config_from_args(args)
    out = Path(config.output_dir)
    models = list(args.model)
    default_model = out / "model.keras"
    if not models and not args.tflite and not args.peer and default_model.exists():
        models = [str(default_model)]
    tflites = list(args.tflite) or ([] if (args.model or args.peer) else [str(p) for p in sorted(out.glob("model_*.tflite"))])
    refs = models + tflites + [f"peer:{n}" for n in args.peer]
    if not refs:
        raise UsageError(f"evaluate: nothing to evaluate (no --model/--tflite/--peer and no models in {out})")
    data = eval_set_for(config, args.data, args.limit)
    report_dir = Path(args.out) if args.out else out / ("report" if args.data == "val" else f"report_{args.data}")
    ours = [Path(r) for r in tflites if "=" not in r]
    others = [r for r in refs if not (r in tflites and "=" not in r)]
    report, _ = evaluate_run(config, None, ours, baseline=not args.no_baseline and args.data in ("val", "train"),
                             data=data, out_dir=report_dir, models=others, record=args.data == "val")
    print(f"report: {report}")
    return 0
