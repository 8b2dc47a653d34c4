"""The report folder: ``report.md`` + ``report.json`` (table, protocol, per-image AbsRel),
``figure.png`` (sample grid) and the plots (``bars.png``, ``error_hist.png``, ``scatter.png``).

Results are keyed by ``VariantId``; tables, titles and ``report.json`` show ``unique_labels``.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Optional

import numpy as np
from matplotlib.figure import Figure

from keras_depth.config import Config
from keras_depth.evaluation.eval_sets import EvalSet
from keras_depth.evaluation.protocol import crop_mask, depth_caps, protocol, protocol_label
from keras_depth.evaluation.variant_id import VariantId, unique_labels
from keras_depth.io import atomic_write_bytes, atomic_write_text
from keras_depth.metrics.depth_metrics import METRIC_NAMES, align_prediction, valid_mask
from keras_depth.spec import DepthSpec
from keras_depth.visualize import colorize

Results = dict[VariantId, dict]


def _fmt(v: float) -> str:
    return f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}"


def markdown_table(results: Results, sizes: dict[VariantId, float]) -> str:
    labels = unique_labels(results)
    cols = list(METRIC_NAMES)
    head = "| variant | size (KiB) | " + " | ".join(cols) + " | ms/frame |"
    lines = [head, "|" + "---|" * (len(cols) + 3)]
    for vid, r in results.items():
        m = r["metrics"]
        size = f"{sizes[vid]:.0f}" if sizes.get(vid) is not None else "-"
        lines.append(f"| {labels[vid]} | {size} | " + " | ".join(_fmt(m[c]) for c in cols) + f" | {m['ms_per_frame']:.1f} |")
    return "\n".join(lines)


def _subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float], squeeze: bool = True):
    # A Figure without pyplot: no global backend or figure registry to set or clean up.
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, squeeze=squeeze)


def _png(fig: Figure, path: Path, **kwargs) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, **kwargs)
    atomic_write_bytes(path, buf.getvalue())


def write_figure(path: Path, data: EvalSet, results: Results, count: int, vmin: float, vmax: float) -> None:
    """Rows of: input | ground truth | each variant's depth | the last variant's relative-error map."""
    labels = unique_labels(results)
    ids = list(results)
    count = min(count, len(data.images))
    cols = 3 + len(ids)
    fig, axes = _subplots(count, cols, figsize=(2.2 * cols, 2.3 * count), squeeze=False)
    last = ids[-1]
    for i in range(count):
        gt, mask = data.depth[i], data.mask[i]
        panels = [("input", data.images[i]), ("ground truth", colorize(gt, vmin, vmax, mask=mask))]
        panels += [(labels[v], colorize(results[v]["predictions"][i], vmin, vmax)) for v in ids]
        for j, (title, img) in enumerate(panels):
            axes[i, j].imshow(img)
            axes[i, j].set_title(title if i == 0 else "", fontsize=8)
        rel = np.where(mask > 0.5, np.abs(results[last]["predictions"][i] - gt) / np.maximum(gt, 1e-6), np.nan)
        im = axes[i, -1].imshow(rel, cmap="magma", vmin=0, vmax=0.5)
        axes[i, -1].set_title(f"|err|/gt ({labels[last]})" if i == 0 else "", fontsize=8)
    for ax in axes.ravel():
        ax.axis("off")
    fig.colorbar(im, ax=axes[:, -1].tolist(), fraction=0.05)
    _png(fig, path)


def write_plots(out_dir: Path, data: EvalSet, results: Results, config: Config) -> list[str]:
    """``bars.png`` (AbsRel and delta1 per variant), ``error_hist.png`` (per-pixel log10(pred/gt) after
    the protocol's alignment), ``scatter.png`` (per-image AbsRel: each int8 variant against the first
    float one). Returns the file names written."""
    e = config.eval
    label = f"{data.name}\n{protocol_label(config)}"
    labels = unique_labels(results)
    ids = list(results)
    names = [labels[v] for v in ids]
    written = []

    fig, axes = _subplots(1, 2, figsize=(max(6, 1.3 * len(ids) + 3), 3.6))
    for ax, key in zip(axes, ("abs_rel", "delta1")):
        vals = [results[v]["metrics"][key] for v in ids]
        bars = ax.bar(range(len(ids)), vals, color=["#d95f02" if v.is_int8 else "#1b9e77" for v in ids])
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
        ax.set_xticks(range(len(ids)), names, rotation=30, ha="right", fontsize=7)
        ax.set_title(key, fontsize=9)
    fig.suptitle(label, fontsize=8, y=1.04)
    _png(fig, out_dir / "bars.png", bbox_inches="tight")
    written.append("bars.png")

    mask = crop_mask(data.mask, e.crop)
    lo, hi = depth_caps(config)
    valid = valid_mask(data.depth, mask, lo, hi)
    fig, ax = _subplots(figsize=(6, 3.6))
    bins = np.linspace(-0.5, 0.5, 101)
    for v_id in ids:
        errs = []
        for b in range(len(data.images)):
            v = valid[b]
            if v.any():
                g = data.depth[b][v].astype(np.float64)
                p = np.clip(align_prediction(g, results[v_id]["predictions"][b][v].astype(np.float64), e.alignment, hi), lo, hi)
                errs.append(np.log10(np.maximum(p, 1e-8) / g))
        if errs:
            ax.hist(np.clip(np.concatenate(errs), bins[0], bins[-1]), bins=bins, histtype="step", label=labels[v_id], density=True)
    ax.set_xlabel("log10(pred / gt) per valid pixel")
    ax.legend(fontsize=7)
    ax.set_title(label, fontsize=8)
    _png(fig, out_dir / "error_hist.png", bbox_inches="tight")
    written.append("error_hist.png")

    # our float model against our int8 variants; peers are other networks, not quantized twins
    floats = [v for v in ids if not v.is_int8 and v.kind != "baseline"]
    ints = [v for v in ids if v.is_int8 and v.kind != "peer"]
    if floats and ints:
        ref = floats[0]
        i = METRIC_NAMES.index("abs_rel")
        x = results[ref]["per_image"][:, i]
        fig, ax = _subplots(figsize=(4.4, 4.2))
        for v in ints:
            ax.scatter(x, results[v]["per_image"][:, i], s=12, label=labels[v])
        lim = np.nanmax([np.nanmax(x)] + [np.nanmax(results[v]["per_image"][:, i]) for v in ints]) * 1.05
        ax.plot([0, lim], [0, lim], "k--", lw=0.8)
        ax.set_xlim(0, lim)
        ax.set_ylim(0, lim)
        ax.set_xlabel(f"per-image AbsRel, {labels[ref]}")
        ax.set_ylabel("per-image AbsRel, int8")
        ax.legend(fontsize=7)
        ax.set_title(label, fontsize=7)
        _png(fig, out_dir / "scatter.png", bbox_inches="tight")
        written.append("scatter.png")
    return written


def write_report(out_dir: Path, title: str, data: EvalSet, results: Results, sizes: dict[VariantId, float],
                 config: Config, extra: Optional[dict] = None) -> Path:
    """``report.md``, ``report.json``, ``figure.png`` (sample grid) and the plots of ``write_plots``
    under ``out_dir``; returns the Markdown path. ``report.json`` keys results by their unique label,
    each with its ``id`` (kind, name, path)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = DepthSpec.from_dict(config.model.spec)
    labels = unique_labels(results)
    table = markdown_table(results, sizes)
    write_figure(out_dir / "figure.png", data, results, config.eval.figure_samples, spec.min_depth, spec.max_depth)
    plots = write_plots(out_dir, data, results, config)
    md = [f"# {title}", "", f"Data: {data.name}. Protocol: {protocol_label(config)}.", "", table, "",
          "![samples](figure.png)", ""] + [f"![{p[:-4]}]({p})" for p in plots] + [""]
    if extra:
        md += ["```json", json.dumps(extra, indent=2), "```", ""]
    atomic_write_text(out_dir / "report.md", "\n".join(md))
    payload = {"data": data.name, "protocol": protocol(config), "config_sha256": config.sha256(),
               "results": {labels[v]: {**r["metrics"], "size_kib": sizes.get(v), "id": v.to_dict(),
                                       "per_image_abs_rel": [None if np.isnan(x) else float(x) for x in r["per_image"][:, 0]]}
                           for v, r in results.items()}, **(extra or {})}
    atomic_write_text(out_dir / "report.json", json.dumps(payload, indent=2))
    return out_dir / "report.md"
