"""The command line's wording of library errors (relight/cli/_errors.py), and its light start."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from relight.cli import _errors
from relight.cli._errors import ACTIONS, FLAGS, cli_text, cli_words, message
from relight.errors import Action, InputFileError, Interrupted, InvalidSetting, RelightError, RelightWarning, Setting, action


def test_a_setting_with_a_value_is_its_flag_and_the_value():
    assert cli_words(Setting("batch_size", 0)) == "--batch-size 0"
    assert cli_words(Setting("size", "7x", shown="'7x'")) == "--size '7x'"  # shown wins over the value
    assert cli_words(Setting("lr", 0.0)) == "--lr 0.0"


def test_a_bool_is_the_flag_or_its_negation():
    assert cli_words(Setting("imagenet", True)) == "--imagenet"
    assert cli_words(Setting("imagenet", False)) == "--no-imagenet"
    assert cli_words(Setting("val_data")) == "--val-data"  # no value: the flag alone


def test_the_owner_is_ignored_by_the_command_line_but_not_by_python():
    setting = Setting("size", "7x", owner="Relighter", shown=repr("7x"))
    assert cli_words(setting) == "--size '7x'"
    error = InvalidSetting(setting, setting, ": expected N or HxW")
    assert str(error) == "Relighter(size='7x'): expected N or HxW"
    assert message(error) == "error: --size '7x': expected N or HxW"


def test_flags_table_overrides_the_dashed_name(monkeypatch):
    assert cli_words(Setting("data")) == "DATA"
    assert cli_words(Setting("config_file", "a.toml")) == "--config a.toml"
    monkeypatch.setitem(FLAGS, "val_gt_dir", "--gt")
    assert cli_words(Setting("val_gt_dir", "x")) == "--gt x"
    assert cli_words(Setting("val_gt_dir", False)) == "--no-gt"


def test_an_action_is_worded_by_its_kind_and_unknown_kinds_keep_the_python_wording(monkeypatch):
    download = action("download", "relight.weights.download('tiny')", name="tiny")
    assert cli_words(download) == "run `relight weights download tiny`"
    assert cli_words(action("nosuch", "call relight.nosuch()")) == "call relight.nosuch()"
    monkeypatch.setitem(ACTIONS, "retry", lambda a: f"run it again with --retries {a.arg('times')}")
    error = RelightError("network down; ", Action("retry", "call it again", (("times", 3),)))
    assert str(error) == "network down; call it again"
    assert message(error) == "error: network down; run it again with --retries 3"


def test_messages_of_each_kind():
    assert message(InputFileError("a.png", "not an image")) == "error: a.png: not an image"
    assert message(Interrupted("3 of 4 done")) == "interrupted: 3 of 4 done"
    assert message(KeyboardInterrupt()) == "interrupted"
    assert message(ZeroDivisionError("division by zero\nsecond line")) == (
        "error: unexpected ZeroDivisionError: division by zero (run with --debug for the traceback)")
    warning = RelightWarning("slow; try ", Setting("size", 512))
    assert cli_text(warning) == "slow; try --size 512"
    assert cli_text("plain") == "plain"


def test_library_limits_name_settings_in_each_audiences_words():
    from relight.inference.batch import _at_least_one

    error = _at_least_one("batch_size", 0, "run_batch")
    assert isinstance(error, ValueError)
    assert error.setting == Setting("batch_size", 0, owner="run_batch")
    assert str(error) == "batch_size must be at least 1, not 0"
    assert message(error) == "error: --batch-size must be at least 1, not 0"


def test_evaluation_without_ground_truth_points_at_the_gt_folder_setting(tmp_path):
    import numpy as np
    from PIL import Image

    from relight.evaluation.evaluate import evaluation_pairs

    folder = tmp_path / "validation"
    folder.mkdir()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(folder / "Image000.png")
    np.save(folder / "Image000.npy", np.zeros((16, 16), np.float32))
    with pytest.raises(InputFileError) as caught:
        evaluation_pairs(folder)
    assert "see gt_dir)" in str(caught.value), str(caught.value)
    assert message(caught.value).endswith("see --gt-dir)"), message(caught.value)


def test_train_options_come_from_the_config_fields():
    import typer

    from relight.cli import app
    from relight.train.config import TrainConfig

    command = typer.main.get_command(app).commands["train"]
    params = {p.name: p for p in command.params}
    assert {f.name for f in dataclasses.fields(TrainConfig)} | {"config_file", "resume"} == set(params)
    for f in dataclasses.fields(TrainConfig):
        assert params[f.name].default is None  # "not given": the config file and the saved run fill it
        if f.name != "data":  # the help names other settings as {name}; the command line shows their flags
            assert params[f.name].help == re.sub(r"\{(\w+)\}", lambda m: "--" + m.group(1).replace("_", "-"), f.metadata["help"])
            assert "{" not in params[f.name].help
    assert (params["amp"].opts, params["amp"].secondary_opts) == (["--amp"], ["--no-amp"])
    assert params["out"].opts == ["--out", "-o"]
    assert params["config_file"].opts == ["--config"]
    context = command.make_context("train", ["d", "--batch-size", "3", "--val-scenes", "0.5", "--milestones", "5,6", "--no-amp", "-o", "r"])
    assert {k: v for k, v in context.params.items() if v is not None} == {
        "data": [Path("d")], "batch_size": 3, "val_scenes": 0.5, "milestones": "5,6", "amp": False, "out": Path("r")}
    assert [p.name for p in command.params][:4] == ["data", "out", "config_file", "resume"]


def test_train_parses_text_options_into_field_values():
    from relight.cli.train import _given

    given = _given({"milestones": "5, 10", "size": "64x32", "crop": "32", "val_scenes": 2.0, "lr": 0.5, "amp": None})
    assert given == {"milestones": [5, 10], "size": [64, 32], "crop": [32, 32], "val_scenes": 2, "lr": 0.5, "amp": None}
    assert _given({"val_scenes": 0.25})["val_scenes"] == 0.25
    with pytest.raises(InvalidSetting) as caught:
        _given({"milestones": "5,x"})
    assert message(caught.value) == "error: --milestones '5,x': expected epoch numbers separated by commas, e.g. 50,100"
    with pytest.raises(InvalidSetting) as caught:
        _given({"crop": "7x"})
    assert message(caught.value).startswith("error: --crop '7x'"), message(caught.value)


def test_the_counter_counts_finished_items_into_its_rate():
    from relight.cli._progress import Counter, progress_bar

    progress = progress_bar()
    counter = Counter(progress, "working")
    counter.advance(counted=False)  # the task appears with the first item
    counter.advance()
    counter.advance()
    task = progress.tasks[0]
    assert (task.completed, counter.done) == (3, 2)
    assert task.fields["rate"].endswith("img/s")
    counter.discard()
    assert not progress.tasks
    progress.stop()


def test_command_line_imports_neither_torch_nor_numpy():
    code = "import sys, relight.cli; bad = [m for m in ('torch', 'numpy') if m in sys.modules]; assert not bad, bad"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def _imports(line: str, module: str) -> bool:
    words = line.split()
    return len(words) > 1 and words[0] in ("import", "from") and words[1].split(".")[0] == module


def test_only_the_command_line_imports_typer_or_rich():
    root = Path(_errors.__file__).parents[1]
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py") if p.relative_to(root).parts[0] != "cli"
                 and any(_imports(line, m) for line in p.read_text().splitlines() for m in ("typer", "rich"))]
    assert offenders == []


def test_error_text_is_printed_as_given_without_emoji_codes(tmp_path):
    # rich turned ":b:" in "pitch=a:b" into an emoji before the consoles were made with emoji=False
    done = subprocess.run([sys.executable, "-m", "relight", "synth", str(tmp_path / "x"), "--vary", "pitch=a:b"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "--vary pitch=a:b: expected" in done.stderr


def test_a_flag_may_depend_on_whose_setting_it_is():
    # Relighter.relight(source=...) is run's --from ("from" is a Python keyword); train's source stays --source
    assert cli_words(Setting("source", "6500-N", owner="Relighter.relight")) == "--from 6500-N"
    assert cli_words(Setting("source", "6500-N", owner="TrainConfig")) == "--source 6500-N"
    assert cli_words(Setting("source")) == "--source"


def test_exit_codes_tell_a_failure_from_a_wrong_command(cli, tmp_path: Path, sample_pair: tuple[Path, Path]) -> None:
    """1: the work failed (a missing photo); 2: the command line is wrong (an unknown option, a refused value)."""
    missing = tmp_path / "no-such-photo.png"
    image, depth = sample_pair
    code, _, err = cli(["run", str(missing), str(tmp_path / "d.npy"), "-o", str(tmp_path / "out.png")])
    assert code == 1, err
    assert err.startswith(f"error: {missing}: no such file")
    code, _, err = cli(["run", str(missing), "--no-such-flag"])
    assert code == 2, err
    code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / "out.png"), "--size", "7x"])
    assert code == 2, err
    assert "--size '7x'" in err
