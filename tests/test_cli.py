"""The console command: exit 2 with one line naming the flag or key; help without loading TF."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from keras_depth.cli import main
from keras_depth.config import load_config
from keras_depth.errors import UsageError

REPO = Path(__file__).resolve().parents[1]
LOCAL = REPO / "keras_depth" / "configs" / "quickstart_local.yaml"


def _run(capsys, *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


def test_console_script_bad_flag_is_one_line_exit_2():
    exe = Path(sys.executable).with_name("keras-depth")
    proc = subprocess.run([str(exe), "train", str(LOCAL), "--epochz", "3"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--epochz" in lines[0], proc.stderr


def test_unknown_command(capsys):
    code, err = _run(capsys, "trian")
    assert code == 2 and len(err) == 1 and "'trian'" in err[0]


def test_unknown_config_key_names_the_dotted_key(capsys, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("train:\n  epoks: 3\n")
    code, err = _run(capsys, "train", str(cfg))
    assert code == 2 and len(err) == 1 and "train.epoks" in err[0]


def test_override_with_wrong_type(capsys):
    code, err = _run(capsys, "train", str(LOCAL), "--set", "train.epochs=many")
    assert code == 2 and len(err) == 1 and "train.epochs" in err[0] and "int" in err[0]


def test_missing_config_file(capsys, tmp_path):
    code, err = _run(capsys, "train", str(tmp_path / "nope.yaml"))
    assert code == 2 and len(err) == 1 and "nope.yaml" in err[0]


def test_override_without_equals(capsys):
    code, err = _run(capsys, "quickstart", "--set", "train.epochs")
    assert code == 2 and len(err) == 1 and "KEY=VALUE" in err[0]


def test_help_lists_every_subcommand_without_importing_tensorflow():
    # Each subcommand's --help, and the top-level --help, in one fresh interpreter: none may load
    # TensorFlow (the CLI imports heavy modules only inside run()).
    from keras_depth.cli import COMMANDS

    script = (
        "import sys\n"
        "from keras_depth.cli import COMMANDS, main\n"
        "assert main(['--help']) == 0\n"
        "print('==END-OF-TOP-LEVEL-HELP==')\n"
        "for name in COMMANDS:\n"
        "    try:\n"
        "        main([name, '--help'])\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, (name, e.code)\n"
        "print('TF_LOADED' if any(m == 'tensorflow' or m.startswith('tensorflow.') for m in sys.modules) else 'TF_FREE')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("TF_FREE"), proc.stdout[-500:]
    top = proc.stdout.split("==END-OF-TOP-LEVEL-HELP==")[0]
    listed = [line.split()[0] for line in top.splitlines() if line.startswith("  ") and line.strip()]
    assert listed == list(COMMANDS)
    assert len(COMMANDS) >= 9


def test_readme_documents_every_subcommand():
    from keras_depth.cli import COMMANDS

    readme = (REPO / "README.md").read_text()
    missing = [name for name in COMMANDS if f"keras-depth {name}" not in readme]
    assert not missing, f"README.md does not document: {missing}"


def test_packaged_config_by_name_and_path_resolve_alike():
    from keras_depth.cli.common import resolve_config_path

    assert resolve_config_path("quickstart_local") == resolve_config_path("quickstart_local.yaml")
    assert resolve_config_path("quickstart_local").resolve() == LOCAL.resolve()
    assert resolve_config_path(str(LOCAL)) == LOCAL
    # A name that is neither a file nor a packaged config comes back as typed, for the loader's error.
    assert str(resolve_config_path("no_such_config")) == "no_such_config"


def test_config_overrides_merge_and_types():
    c = load_config(LOCAL, ["train.epochs=3", "data.image_size=[96, 96]", "train.learning_rate=1"])
    assert c.train.epochs == 3 and c.data.image_size == [96, 96]
    assert isinstance(c.train.learning_rate, float) and c.train.learning_rate == 1.0
    assert c.data.batch_size == 8  # untouched keys keep the file's values
    with pytest.raises(UsageError, match="model.nam"):
        load_config(LOCAL, ["model.nam=x"])


def test_config_hash_changes_with_content():
    a, b = load_config(LOCAL), load_config(LOCAL, ["seed=1"])
    assert a.sha256() == load_config(LOCAL).sha256() and a.sha256() != b.sha256()


@pytest.mark.parametrize("flag,value", [("--threads", "0"), ("--threads", "two"), ("--threads", "1,-2"),
                                        ("--runs", "-1"), ("--resolutions", "0x0"), ("--resolutions", "12x")])
def test_benchmark_numbers_are_checked_at_parse_time(capsys, flag, value):
    code, err = _run(capsys, "benchmark", str(LOCAL), flag, value)
    assert code == 2 and len(err) == 1 and flag in err[0] and repr(value.split(",")[-1]) in err[0], err


def test_common_argument_types():
    import argparse

    from keras_depth.cli.common import csv_of, hw_pair, non_negative, positive

    pos = positive(float, "--x")
    assert pos("0.5") == 0.5
    for bad in ("0", "-1", "nan", "inf", "x"):
        with pytest.raises(argparse.ArgumentTypeError, match="--x expects a positive number"):
            pos(bad)
    nn = non_negative(int, "--n")
    assert nn("0") == 0 and nn("7") == 7
    with pytest.raises(argparse.ArgumentTypeError, match="--n expects an integer >= 0"):
        nn("-1")
    assert csv_of(hw_pair, "--r")("128x96, 64") == [(128, 96), (64, 64)]
    with pytest.raises(argparse.ArgumentTypeError):
        csv_of(hw_pair, "--r")(" , ")
