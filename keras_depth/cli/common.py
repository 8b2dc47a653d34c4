"""What every subcommand shares: the one-line argument parser and the one way to take a config.

Every subcommand that reads a config takes it as ``CONFIG`` (a YAML path, or the name of a config
packaged in ``keras_depth/configs/``, with or without ``.yaml``) plus repeatable
``--set KEY=VALUE`` overrides and ``--output-dir``. Library code never sees argparse: each
subcommand turns its arguments into typed values before calling it.
"""
from __future__ import annotations

import argparse
import math
import sys
from importlib import resources
from pathlib import Path
from typing import Optional, Sequence

from keras_depth.errors import UsageError


class OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus the error; we raise one line that names the flag."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def packaged_configs() -> list[str]:
    root = resources.files("keras_depth") / "configs"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def packaged_config(name: str) -> Path:
    return Path(str(resources.files("keras_depth") / "configs" / name))


def resolve_config_path(ref: str) -> Path:
    """A path that exists, else a packaged config by name (``quickstart_local``); else the path as
    given, so the loader's 'not found' names what the user typed."""
    path = Path(ref)
    if path.exists():
        return path
    name = ref[:-5] if ref.endswith(".yaml") else ref
    if "/" not in ref and name in packaged_configs():
        return packaged_config(f"{name}.yaml")
    return path


def add_config_arguments(parser: argparse.ArgumentParser, default: Optional[str] = None) -> None:
    """``CONFIG`` (required unless ``default`` names a packaged config), ``--set``, ``--output-dir``."""
    names = ", ".join(packaged_configs())
    where = f"a YAML file or a packaged config name ({names})"
    if default is None:
        parser.add_argument("config", metavar="CONFIG", help=where)
    else:
        parser.add_argument("config", metavar="CONFIG", nargs="?", default=default,
                            help=f"{where}; default: {default}")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. --set train.epochs=3 (repeatable)")
    parser.add_argument("--output-dir", help="where to write (default: the config's output_dir)")


def config_from_args(args: argparse.Namespace):
    """The resolved ``Config`` of a subcommand that called ``add_config_arguments``."""
    from keras_depth.config import load_config

    overrides: list[str] = list(args.overrides)
    if getattr(args, "output_dir", None):
        overrides.append(f"output_dir={args.output_dir}")
    return load_config(resolve_config_path(args.config), overrides)


def skipped_summary() -> Optional[str]:
    """One line counting the bad samples the readers skipped in this process (None if none, or if no
    reader ran: the readers' module is looked up, never imported, so a usage error stays light)."""
    source = sys.modules.get("keras_depth.data.readers.source")
    counts = source.bad_data_counts() if source is not None else {}
    if not sum(counts.values()):
        return None
    per = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
    files = len(source.BAD_DATA.files)
    return (f"skipped {sum(counts.values())} bad sample(s) from {files} file(s) ({per}; each file named above); "
            "--set data.strict=true fails on the first instead")


def add_unsafe_argument(parser: argparse.ArgumentParser) -> None:
    """``--unsafe``: for the subcommands that load Keras model files (keras_depth.models.io)."""
    parser.add_argument("--unsafe", action="store_true",
                        help="load Keras model files even if they hold Python code (Lambda layers, custom classes): "
                        "arbitrary code execution; only for files you trust")


def csv_list(text: Optional[str]) -> list[str]:
    return [s.strip() for s in (text or "").split(",") if s.strip()]


def positive(kind: type, name: str, allow_zero: bool = False):
    """An argparse ``type=`` that accepts only finite positive numbers of ``kind`` (or >= 0 with
    ``allow_zero``) and names the flag."""
    noun = {"int": "integer", "float": "number"}.get(kind.__name__, kind.__name__)
    if allow_zero:
        want = f"{'an' if noun == 'integer' else 'a'} {noun} >= 0"
    else:
        want = f"a positive {noun}"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} expects {want}, got {text!r}") from None
        # NaN fails every comparison, so it is caught by asking for what is valid.
        if not (math.isfinite(value) and (value >= 0 if allow_zero else value > 0)):
            raise argparse.ArgumentTypeError(f"{name} expects {want}, got {text!r}")
        return value

    return parse


def non_negative(kind: type, name: str):
    return positive(kind, name, allow_zero=True)


def csv_of(item, name: str):
    """An argparse ``type=`` for a comma-separated list whose items parse with ``item``."""

    def parse(text: str) -> list:
        items = csv_list(text)
        if not items:
            raise argparse.ArgumentTypeError(f"{name} expects a comma-separated list, got {text!r}")
        return [item(t) for t in items]

    return parse


def hw_pair(text: str) -> tuple[int, int]:
    """``HxW`` or ``N`` (square) -> (height, width), both positive."""
    parts = text.lower().split("x")
    try:
        hw = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW or N, got {text!r}") from None
    if len(hw) == 1:
        hw = (hw[0], hw[0])
    if len(hw) != 2 or min(hw) <= 0:
        raise argparse.ArgumentTypeError(f"expected HxW or N with positive sizes, got {text!r}")
    return hw  # type: ignore[return-value]

