"""Weights: the registry, ``--weights`` resolution, Hub downloads (against a loopback Hub) and the import
of the authors' checkpoint. Nothing here mocks huggingface_hub or relight: only the Hub's endpoint and
cache locations (``huggingface_hub.constants``) are pointed at the test's own server and tmp folders.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

from hubserver import HubServer
from reference import constant_state_dict, read_tsv
from relight.model import MBNet, MBNetConfig
from relight.errors import MissingWeightsError, RelightError
from relight.model.authors import CheckpointMismatchError, read_authors_checkpoint
from relight.model.checkpoint import load_checkpoint, save_checkpoint
from relight.weights import (
    BUILTIN_REGISTRY,
    DEFAULT_MODEL,
    USER_REGISTRY_FORMAT,
    FileLocation,
    HubError,
    HubFile,
    HubLocation,
    InvalidWeightsSetting,
    ModelEntry,
    OlderHubAddress,
    PageLocation,
    RegistryError,
    UnknownWeights,
    WeightsError,
    WeightsRefused,
    WeightsUnavailable,
    availability,
    default_weights,
    import_authors_checkpoint,
    load_registry,
    load_weights,
    parse_hf_spec,
    read_hf_address,
    resolve_weights,
    sha256_file,
    user_home,
)
from relight.weights.registry import NAME

REPO = Path(__file__).resolve().parent.parent


def _cli_line(exc: BaseException) -> str:
    """The message as the command line words it (flags and commands instead of Python calls)."""
    from relight.cli._errors import cli_words

    return exc.render(cli_words)


def _write_user_registry(home: Path, models: dict) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "registry.json"
    path.write_text(json.dumps({"format": USER_REGISTRY_FORMAT, "models": models}))
    return path


def _hub_entry(repo: str, filename: str, commit: str, sha256: str, config: MBNetConfig) -> dict:
    return {
        "description": "test model on the loopback Hub",
        "architecture": json.loads(config.to_json()),
        "source": "6500-N",
        "target": "4500-E",
        "location": {"hub": repo, "filename": filename, "revision": commit},
        "sha256": sha256,
    }


# --- registry -------------------------------------------------------------------------------------


def test_shipped_registry_describes_both_models(tmp_path):
    registry = load_registry(user=tmp_path / "none.json")
    assert registry.builtin_path == BUILTIN_REGISTRY
    assert BUILTIN_REGISTRY.parent == REPO / "weights"
    bundled = registry[DEFAULT_MODEL]
    assert bundled.location.kind == "file"
    assert bundled.location.path == REPO / "weights" / "relight-synth-any.safetensors"
    assert bundled.config.backbone == "narrow"
    assert bundled.config.any_to_any
    assert bundled.origin == "built-in"

    authors = registry["mbnet-ntire21"]
    assert authors.config == MBNetConfig.paper()
    assert (authors.source, authors.target) == ("6500-N", "4500-E")
    assert authors.location.kind == "page"
    assert authors.location.filename == "weight.pkl"
    assert "github.com/weitingchen83/NTIRE2021-Depth-Guided-Image-Relighting-MBNet" in authors.location.page
    assert authors.sha256 is None
    assert authors.metrics == {"psnr_db": 19.36, "ssim": 0.7175}
    assert availability(authors).status == "import needed"
    with pytest.raises(WeightsError, match=r"then call relight\.weights\.import_authors_checkpoint\('weight\.pkl', 'mbnet-ntire21'\)") as err:
        resolve_weights("mbnet-ntire21", registry=registry)
    assert "then run `relight weights import weight.pkl --name mbnet-ntire21`" in _cli_line(err.value)
    assert isinstance(err.value, FileNotFoundError)
    assert "relight weights" not in str(err.value)


def test_missing_bundled_file_is_not_available_until_it_is_there(tiny_config, tmp_path):
    builtin = tmp_path / "weights" / "registry.toml"
    builtin.parent.mkdir()
    shutil.copy(BUILTIN_REGISTRY, builtin)
    registry = load_registry(builtin, tmp_path / "user.json")
    assert availability(registry[DEFAULT_MODEL]).status == "missing"
    with pytest.raises(WeightsError, match=r"relight-synth-any: not available here: .*relight-synth-any\.safetensors does not exist"):
        load_weights(DEFAULT_MODEL, registry=registry)
    with pytest.raises(WeightsError, match="default model relight-synth-any is not available"):
        default_weights(registry)

    target = builtin.parent / "relight-synth-any.safetensors"
    save_checkpoint(MBNet(tiny_config), target)
    with pytest.raises(WeightsError, match=rf"registry says {registry[DEFAULT_MODEL].size_bytes}; refusing to load it \(nothing was deleted\)"):
        load_weights(DEFAULT_MODEL, registry=registry)
    assert target.exists()
    shutil.copy(REPO / "weights" / "relight-synth-any.safetensors", target)
    assert default_weights(registry) == DEFAULT_MODEL
    loaded = load_weights(default_weights(registry), registry=registry)
    assert loaded.config == registry[DEFAULT_MODEL].config
    assert loaded.source.startswith(DEFAULT_MODEL)


def test_placeholders_checksums_and_broken_registries(tiny_config, tmp_path):
    good = tmp_path / "good.safetensors"
    save_checkpoint(MBNet(tiny_config), good)
    other = hashlib.sha256(b"other bytes").hexdigest()
    arch = '{ backbone = "narrow", width = 8, decoder_channels = 16, residual = true }'
    builtin = tmp_path / "registry.toml"
    builtin.write_text(
        f'[models.todo]\narchitecture = {arch}\nsha256 = "PLACEHOLDER"\ntrained_with = "PLACEHOLDER"\n'
        f'[models.todo.location]\nfile = "good.safetensors"\n[models.todo.metrics]\nssim = "PLACEHOLDER"\npsnr_db = 20.5\n'
        f'[models.tampered]\narchitecture = {arch}\nsha256 = "{other}"\n[models.tampered.location]\nfile = "good.safetensors"\n'
    )
    registry = load_registry(builtin, tmp_path / "user.json")
    todo = registry["todo"]
    assert set(todo.placeholders) == {"sha256", "trained_with", "metrics.ssim"}
    assert todo.sha256 is None
    assert todo.metrics == {"psnr_db": 20.5}
    assert resolve_weights("todo", registry=registry) == good
    before = good.read_bytes()
    with pytest.raises(WeightsError, match=f"tampered: sha256 mismatch: .*good.safetensors is {sha256_file(good)}, the registry expects {other}; refusing") as err:
        load_weights("tampered", registry=registry)
    assert "\n" not in str(err.value)
    assert good.read_bytes() == before

    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[models.x\n")
    with pytest.raises(WeightsError, match=r"bad\.toml: not valid TOML"):
        load_registry(bad_toml, tmp_path / "user.json")
    unpinned = tmp_path / "unpinned.toml"
    unpinned.write_text(f'[models.x]\narchitecture = {arch}\nsha256 = "{other}"\n[models.x.location]\nhub = "a/b"\nfilename = "m.safetensors"\nrevision = "main"\n')
    with pytest.raises(WeightsError, match="unpinned.toml: models.x: hub revision must be pinned to a full 40-hex commit"):
        load_registry(unpinned, tmp_path / "user.json")
    broken_user = tmp_path / "user.json"
    broken_user.write_text("{not json")
    with pytest.raises(WeightsError, match=r"user\.json: not valid JSON .*delete it"):
        load_registry(builtin, broken_user)


_SHIPPED = load_registry(user=REPO / "tests" / "no-such-registry.json")


@pytest.mark.parametrize("name", list(_SHIPPED))
def test_every_shipped_entry_is_well_formed(name):
    entry = _SHIPPED[name]
    assert NAME.fullmatch(name)
    assert entry.description
    assert entry.config.describe()
    data = entry.to_dict()
    assert json.loads(json.dumps(data)) == data, "to_dict is JSON as it is"
    expected = [f.name for f in dataclasses.fields(ModelEntry) if f.name != "config"]
    assert [k for k in data if k not in ("variant", "architecture")] == expected
    assert data["variant"] == entry.config.describe()
    assert MBNetConfig.from_dict(data["architecture"]) == entry.config
    loc = entry.location
    assert data["location"] == loc.to_dict()
    assert data["location"]["kind"] == loc.kind
    if isinstance(loc, FileLocation):
        assert loc.path.is_absolute()
        assert loc.path.parent == BUILTIN_REGISTRY.parent
        assert loc.path.is_file(), "a file entry of the shipped registry ships its file"
        assert entry.sha256 == sha256_file(loc.path)
        assert entry.size_bytes == loc.path.stat().st_size
    elif isinstance(loc, HubLocation):
        assert re.fullmatch(r"[0-9a-f]{40}", loc.hub.revision)
        assert entry.sha256 is not None
        assert parse_hf_spec(loc.hub.uri) == loc.hub
    else:
        assert isinstance(loc, PageLocation)
        assert loc.filename
        assert all(url.startswith("https://") for url in (loc.page, loc.download_url or loc.page))


def test_the_default_model_is_registry_data(tmp_path):
    assert _SHIPPED.default == DEFAULT_MODEL == "relight-synth-any"
    assert DEFAULT_MODEL in _SHIPPED
    builtin = tmp_path / "registry.toml"
    text = BUILTIN_REGISTRY.read_text()
    builtin.write_text(text.replace('default = "relight-synth-any"', 'default = "mbnet-ntire21"'))
    registry = load_registry(builtin, tmp_path / "user.json")
    with pytest.raises(WeightsError, match="the default model mbnet-ntire21 is not available .*import needed"):
        default_weights(registry)
    builtin.write_text(text.replace('default = "relight-synth-any"', ""))
    with pytest.raises(WeightsError, match="registry.toml names no default model: pass weights") as err:
        default_weights(load_registry(builtin, tmp_path / "user.json"))
    assert _cli_line(err.value).endswith(": pass --weights NAME, PATH or hf://owner/repo@revision/file (see `relight weights list`)")
    builtin.write_text(text.replace('default = "relight-synth-any"', 'default = "nope"'))
    with pytest.raises(RegistryError, match="default = 'nope' names none of its models"):
        load_registry(builtin, tmp_path / "user.json")


def test_errors_are_typed_and_worded_per_audience(tmp_path):
    assert issubclass(WeightsError, RelightError)
    assert issubclass(UnknownWeights, LookupError)
    assert issubclass(WeightsUnavailable, MissingWeightsError)
    assert issubclass(WeightsUnavailable, FileNotFoundError)
    assert issubclass(WeightsRefused, ValueError)
    assert issubclass(HubError, ConnectionError)
    builtin = tmp_path / "weights" / "registry.toml"
    builtin.parent.mkdir()
    shutil.copy(BUILTIN_REGISTRY, builtin)
    with pytest.raises(WeightsUnavailable) as err:
        resolve_weights(DEFAULT_MODEL, registry=load_registry(builtin, tmp_path / "user.json"))
    assert err.value.path == builtin.parent / "relight-synth-any.safetensors"
    assert "--" not in str(err.value)
    assert str(err.value).endswith("(pass a weights file's path instead, or pick another name from relight.weights.load_registry())")
    assert _cli_line(err.value).endswith("(pass --weights PATH, or pick another name from `relight weights list`)")
    with pytest.raises(InvalidWeightsSetting) as err:
        import_authors_checkpoint(tmp_path / "absent.pkl", "../evil")
    assert str(err.value).startswith("import_authors_checkpoint(name='../evil'): use letters")
    assert _cli_line(err.value).startswith("--name '../evil': use letters")
    assert err.value.setting.name == "name"
    with pytest.raises(CheckpointMismatchError) as err:
        read_authors_checkpoint(REPO / "weights" / "relight-synth-narrow.safetensors")
    assert str(err.value).endswith("pass it as Relighter.from_weights(weights='" + str(REPO / "weights" / "relight-synth-narrow.safetensors") + "')")
    assert _cli_line(err.value).endswith(f"pass it as --weights {REPO / 'weights' / 'relight-synth-narrow.safetensors'}")


def test_hf_addresses_follow_huggingface_hubs_grammar():
    standard = read_hf_address("hf://me/mbnet@v1.0/sub/dir/model.safetensors")
    assert standard == (HubFile("me/mbnet", "sub/dir/model.safetensors", "v1.0"), None)
    assert read_hf_address("hf://models/me/mbnet/model.safetensors") == (HubFile("me/mbnet", "model.safetensors"), None)
    assert read_hf_address("hf://me/mbnet@refs/pr/3/model.safetensors")[0].revision == "refs/pr/3"
    assert read_hf_address("hf://me/mbnet@main/name@2x.safetensors") == (HubFile("me/mbnet", "name@2x.safetensors"), None)
    older, note = read_hf_address("hf://me/mbnet/sub/model.safetensors@v1.0")
    assert older == HubFile("me/mbnet", "sub/model.safetensors", "v1.0")
    assert older.spec == "hf://me/mbnet@v1.0/sub/model.safetensors"
    assert note == ("hf://me/mbnet/sub/model.safetensors@v1.0 is relight's older form of an hf:// address; "
                    "the standard form is hf://me/mbnet@v1.0/sub/model.safetensors")
    for bad, why in (("hf://datasets/me/data@main/x.safetensors", "not a dataset"), ("hf://me/mbnet@main", "names no file")):
        with pytest.raises(InvalidWeightsSetting, match=why) as err:
            read_hf_address(bad)
        assert isinstance(err.value, ValueError)
        assert err.value.setting.value == bad


def test_user_home_honours_relight_home_then_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("RELIGHT_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert user_home() == tmp_path / "xdg" / "relight"
    monkeypatch.setenv("RELIGHT_HOME", str(tmp_path / "mine"))
    assert user_home() == tmp_path / "mine"


def test_weights_specs_paths_names_and_hf_addresses(tmp_path, narrow_checkpoint, monkeypatch):
    monkeypatch.setenv("RELIGHT_HOME", str(tmp_path / "home"))
    assert parse_hf_spec("hf://me/mbnet/sub/dir/model.safetensors@v1.0") == HubFile("me/mbnet", "sub/dir/model.safetensors", "v1.0")
    assert parse_hf_spec("hf://me/mbnet/model.safetensors") == HubFile("me/mbnet", "model.safetensors", "main")
    for bad in ("hf://me/mbnet", "hf://me//x.safetensors", "hf://me/mbnet/x.safetensors@"):
        with pytest.raises(WeightsError, match="expected hf://owner/repo/file"):
            parse_hf_spec(bad)
    assert resolve_weights(str(narrow_checkpoint)) == narrow_checkpoint
    assert load_weights(narrow_checkpoint).source == str(narrow_checkpoint)
    with pytest.raises(WeightsError, match=r"missing\.safetensors: no such weights file"):
        resolve_weights(str(tmp_path / "missing.safetensors"))
    with pytest.raises(WeightsError, match=r"no-such-model: not a weights file and not a registry name \(known: .*mbnet-ntire21.*; see relight\.weights\.load_registry\(\)\)") as err:
        resolve_weights("no-such-model")
    assert isinstance(err.value, LookupError)
    assert re.fullmatch(r"no-such-model: not a weights file and not a registry name \(known: .*mbnet-ntire21.*; see `relight weights list`\)", _cli_line(err.value))


# --- Hugging Face Hub downloads, against a loopback server ------------------------------------------


@pytest.fixture
def tiny_on_hub(tiny_config, hub, narrow_checkpoint, tmp_path):
    """The narrow checkpoint committed to me/tiny on the loopback Hub and registered as ``tiny-hub``."""
    data = narrow_checkpoint.read_bytes()
    commit = hub.add_file("me/tiny", "tiny.safetensors", data)
    entry = _hub_entry("me/tiny", "tiny.safetensors", commit, hashlib.sha256(data).hexdigest(), tiny_config)
    _write_user_registry(tmp_path / "relight-home", {"tiny-hub": entry})
    return commit, data


def test_download_then_cache_then_offline(hub, tiny_on_hub, narrow_checkpoint, monkeypatch):
    import huggingface_hub.constants as hf

    commit, data = tiny_on_hub
    seen: list[tuple[int, int | None]] = []
    loaded = load_weights("tiny-hub", progress=lambda done, total: seen.append((done, total)))
    assert (hub.count("HEAD"), hub.count("GET")) == (2, 1)  # relight's one quick HEAD (is the Hub there?), then huggingface_hub's
    assert seen[-1] == (len(data), len(data))
    path = resolve_weights("tiny-hub")
    assert path.read_bytes() == data
    assert Path(hf.HF_HUB_CACHE) in path.parents
    assert commit in str(path)
    expected = load_checkpoint(narrow_checkpoint).model.state_dict()
    assert all(torch.equal(v, expected[k]) for k, v in loaded.model.state_dict().items())
    assert loaded.source.startswith("tiny-hub (")

    assert hub.count("GET") == 1, "the pinned, cached copy must be used without downloading again"
    assert resolve_weights("hf://me/tiny/tiny.safetensors") == path  # branch: asks (HEAD), does not fetch
    assert (hub.count("HEAD"), hub.count("GET")) == (4, 1)  # main is not known in the cache: the quick HEAD, then the real one

    monkeypatch.setattr(hf, "HF_HUB_OFFLINE", True)
    requests = len(hub.requests)
    assert load_weights("tiny-hub").config == loaded.config
    with pytest.warns(OlderHubAddress, match=f"the standard form is hf://me/tiny@{commit}/tiny.safetensors"):
        assert resolve_weights(f"hf://me/tiny/tiny.safetensors@{commit}") == path
    assert len(hub.requests) == requests, "offline mode must not touch the network"
    hub.add_file("me/tiny", "other.safetensors", b"x")
    with pytest.raises(WeightsError, match=r"hf://me/tiny@main/other\.safetensors: not in the Hugging Face cache .* HF_HUB_OFFLINE is set: call relight\.weights\.resolve_weights\('hf://me/tiny@main/other\.safetensors'\) once") as err:
        resolve_weights("hf://me/tiny/other.safetensors")
    assert re.search(r"hf://me/tiny@main/other\.safetensors: not in the Hugging Face cache .* HF_HUB_OFFLINE is set: run `relight weights download hf://me/tiny@main/other\.safetensors` once with HF_HUB_OFFLINE unset, or pass --weights PATH$", _cli_line(err.value))


def test_checksum_mismatch_refuses_and_deletes_nothing(hub, tmp_path, narrow_checkpoint):
    data = narrow_checkpoint.read_bytes()
    commit = hub.add_file("me/tiny", "tiny.safetensors", data[:-1] + bytes([data[-1] ^ 1]))
    _write_user_registry(tmp_path / "relight-home", {"tiny-hub": _hub_entry("me/tiny", "tiny.safetensors", commit, hashlib.sha256(data).hexdigest(), MBNetConfig.narrow())})
    with pytest.raises(WeightsError, match=f"tiny-hub: sha256 mismatch: .* the registry expects {hashlib.sha256(data).hexdigest()}; refusing to load it") as err:
        load_weights("tiny-hub")
    assert "\n" not in str(err.value)
    downloaded = Path(str(err.value).split("sha256 mismatch: ")[1].split(" is ")[0])
    assert downloaded.is_file(), "the downloaded copy stays where it is"
    assert downloaded.stat().st_size == len(data), "the downloaded copy stays where it is"


def test_server_errors_and_missing_files_are_one_line(hub, tiny_on_hub):
    hub.add_file("me/tiny", "second.safetensors", b"second file")
    hub.fail["GET"] = 500
    with pytest.raises(WeightsError, match=r"^hf://me/tiny@main/second\.safetensors: download failed: http://127\.0\.0\.1:\d+ answered HTTP 500"):
        resolve_weights("hf://me/tiny/second.safetensors")
    hub.fail = {"HEAD": 500}  # the client retries a failed HEAD five times; Retry-After: 0 keeps it to ~5 s
    with pytest.raises(WeightsError, match=r"^tiny-hub \(hf://me/tiny@[0-9a-f]{40}/tiny\.safetensors\): the Hub at http://127\.0\.0\.1:\d+ answered HTTP 500 and there is no cached copy; try again later"):
        resolve_weights("tiny-hub")
    hub.fail = {}
    with pytest.raises(WeightsError, match=r"^hf://me/tiny@main/nope\.safetensors: me/tiny has no file 'nope\.safetensors' at revision main$"):
        resolve_weights("hf://me/tiny/nope.safetensors")
    with pytest.raises(WeightsError, match=r"^hf://me/absent@main/x\.safetensors: no repository me/absent on http://127"):
        resolve_weights("hf://me/absent/x.safetensors")
    with pytest.raises(WeightsError, match=r"me/tiny has no revision 'v9'"), pytest.warns(OlderHubAddress):
        resolve_weights("hf://me/tiny/tiny.safetensors@v9")


def test_both_hf_forms_download_the_same_file_and_only_the_older_one_has_a_note(hub, tiny_on_hub):
    commit, data = tiny_on_hub
    notes: list[str] = []
    by_commit = resolve_weights(f"hf://me/tiny@{commit}/tiny.safetensors", warn=notes.append)
    by_branch = resolve_weights("hf://me/tiny@main/tiny.safetensors", warn=notes.append)
    assert by_commit == by_branch
    assert by_commit.read_bytes() == data
    assert not notes
    assert resolve_weights(f"hf://me/tiny/tiny.safetensors@{commit}", warn=notes.append) == by_commit
    assert notes == [f"hf://me/tiny/tiny.safetensors@{commit} is relight's older form of an hf:// address; "
                     f"the standard form is hf://me/tiny@{commit}/tiny.safetensors"]
    hub.add_file("me/tiny", "at@2x.safetensors", b"a file with @ in its name")
    assert resolve_weights("hf://me/tiny@main/at@2x.safetensors", warn=notes.append).read_bytes() == b"a file with @ in its name"
    assert len(notes) == 1
    loaded = load_weights(f"hf://me/tiny@{commit}/tiny.safetensors", warn=notes.append)
    assert loaded.source.startswith("tiny-hub ("), "a registered Hub file is checked against its entry"
    assert len(notes) == 1, "a registered Hub file is checked against its entry"
    with pytest.raises(UnknownWeights, match=r"me/tiny has no revision 'v9'"):
        resolve_weights("hf://me/tiny@v9/tiny.safetensors")


def test_weights_commands(cli, hub, tiny_on_hub, monkeypatch):
    code, out, err = cli(["weights", "list", "--json"])
    assert code == 0, err
    listed = {row["name"]: row for row in json.loads(out)}
    assert listed["tiny-hub"]["status"] == "not downloaded"
    assert listed["mbnet-ntire21"]["status"] == "import needed"
    assert listed[DEFAULT_MODEL]["location"]["kind"] == "file"
    assert [name for name, row in listed.items() if row["default"]] == [DEFAULT_MODEL, "depth-anything-v2-small"]

    code, _, err = cli(["weights", "download", "tiny-hub"])
    assert code == 0, err
    assert "sha256 verified" in err, err
    assert "downloading tiny-hub" in err, err
    code, _, err = cli(["weights", "download", DEFAULT_MODEL])  # shipped: hashed too
    assert code == 0, err
    assert "sha256 verified" in err, err
    assert "downloading" not in err, err
    from relight.cli import out_console

    monkeypatch.setattr(out_console, "width", 80)
    code, out, _ = cli(["weights", "list"])
    assert code == 0
    assert "tiny-hub" in out
    assert "ready" in out
    # an 80-column terminal keeps names, variants and illuminations whole
    assert DEFAULT_MODEL in out, out
    assert out.count("(default)") == 2, out  # the default model and the default depth model
    assert "narrow-w8-d16" in out, out
    assert "6500-N->4500-E" in out, out
    assert max(map(len, out.splitlines())) <= 80
    code, out, _ = cli(["weights", "info", "tiny-hub", "--json"])
    info = json.loads(out)
    assert info["status"] == "ready"
    assert info["location"]["repo"] == "me/tiny"
    assert info["origin"] == "user"
    assert info["variant"] == "narrow-w8-d16"
    assert Path(info["path"]).read_bytes() == tiny_on_hub[1]
    code, out, _ = cli(["weights", "info", "mbnet-ntire21"])
    assert code == 0
    assert "weight.pkl" in out
    assert "19.36" in out

    for args, message in (
        (["weights", "download", "hf://me/tiny/missing.safetensors"], "has no file 'missing.safetensors'"),
        (["weights", "info", "nope"], "nope: no model of that name in the registry (models: relight-synth-any, "
                                      "relight-synth-narrow, mbnet-ntire21, tiny-hub; depth models: depth-anything-v2-small)"),
        (["weights", "download", "mbnet-ntire21"], "relight cannot download it"),
    ):
        code, out, err = cli(args)
        assert code == 1, err
        assert message in err, err
        assert "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1, err


def test_environment_variables_reach_huggingface_hub(tmp_path, narrow_checkpoint):
    """HF_ENDPOINT and HF_HOME set before the process starts, as a user would, and the real entry point."""
    with HubServer() as server:
        data = narrow_checkpoint.read_bytes()
        commit = server.add_file("me/tiny", "tiny.safetensors", data)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
        env.update(HF_ENDPOINT=server.url, HF_HOME=str(tmp_path / "hf"), RELIGHT_HOME=str(tmp_path / "rh"), COLUMNS="200")
        done = subprocess.run(
            [sys.executable, "-m", "relight", "weights", "download", f"hf://me/tiny/tiny.safetensors@{commit}"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert (server.count("HEAD"), server.count("GET")) == (2, 1)
        snapshot = tmp_path / "hf" / "hub" / "models--me--tiny" / "snapshots" / commit / "tiny.safetensors"
        assert snapshot.read_bytes() == data
        assert f"ready: {snapshot}" in done.stderr.replace("\n", "")


# --- the authors' checkpoint -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def authors_files(tmp_path_factory):
    """The paper MBNet under the authors' key names, a constant each (a small file that loads as the
    whole network): weight.pkl, and a copy with DataParallel's prefix; their paths and sha256."""
    folder = tmp_path_factory.mktemp("authors")
    state = constant_state_dict(read_tsv(), scale=0.01)  # small enough that the network's output stays finite
    files = []
    for name, prefix in (("weight.pkl", ""), ("weight-dp.pth", "module.")):
        torch.save({"state_dict": {prefix + k: v for k, v in state.items()}}, folder / name)
        files.append((folder / name, hashlib.sha256((folder / name).read_bytes()).hexdigest()))
    return files


def test_import_then_run_by_name_matches_the_pkl(cli, authors_files, tmp_path, monkeypatch):
    (plain, plain_sha), (prefixed, prefixed_sha) = authors_files
    home = tmp_path / "home"
    monkeypatch.setenv("RELIGHT_HOME", str(home))
    code, out, err = cli(["weights", "import", str(plain), "--name", "mbnet-ntire21"])
    assert code == 0, err
    entry = load_registry()["mbnet-ntire21"]
    file = home / "models" / "mbnet-ntire21.safetensors"
    assert entry.location.path == file
    assert entry.origin == "built-in + user"
    assert availability(entry).ready
    assert entry.sha256 == sha256_file(file)
    assert entry.size_bytes == file.stat().st_size
    assert entry.sha256[:8] in out
    assert entry.imported_from["sha256"] == plain_sha
    assert entry.licence.startswith("none stated")
    with safe_open(str(file), framework="pt") as fh:
        assert {fh.get_slice(k).get_dtype() for k in fh.keys()} == {"F32", "I64"}

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "scene.png")
    np.save(tmp_path / "scene.npy", rng.random((64, 64), dtype=np.float32))
    outputs = []
    for weights in ("mbnet-ntire21", str(prefixed)):
        out_file = tmp_path / f"{Path(weights).stem}.npy"
        code, _, err = cli(["run", str(tmp_path / "scene.png"), str(tmp_path / "scene.npy"), "-o", str(out_file), "-w", weights,
                            "--backend", "torch"])  # the weights, not the backend: no export of the paper network per file
        assert code == 0, err
        outputs.append(np.load(out_file))
    by_name, direct = outputs
    assert by_name.shape == (64, 64, 3)
    assert np.array_equal(by_name, direct)
    scene = np.asarray(Image.open(tmp_path / "scene.png"), dtype=np.float32) / 255
    assert np.abs(by_name - scene).max() > 0.01, "the network must have changed the image"

    shutil.rmtree(home / "converted")  # the direct run's 613 MB conversion, before the re-import writes a second copy
    code, _, err = cli(["weights", "import", str(prefixed), "--name", "mbnet-ntire21"])
    assert code == 2
    assert "already imported" in err
    assert "--force" in err
    again = import_authors_checkpoint(prefixed, "mbnet-ntire21", force=True)
    assert again.imported_from["sha256"] == prefixed_sha
    assert again.location.path == file
    assert again.sha256 == sha256_file(file)
    assert list(load_registry()) == [DEFAULT_MODEL, "relight-synth-narrow", "mbnet-ntire21"]


def test_import_refusals_leave_nothing_behind(tiny_config, cli, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("RELIGHT_HOME", str(home))
    not_mbnet = tmp_path / "other.pkl"
    torch.save({"state_dict": {"conv.weight": torch.zeros(3, 3)}}, not_mbnet)
    ours = save_checkpoint(MBNet(tiny_config), tmp_path / "ours.safetensors")
    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint\n")
    for args, message, expected in (  # 1: the file cannot be imported; 2: a name refused
        (["weights", "import", str(ours), "--name", "mine"], "ours.safetensors is a safetensors file, relight's own format, "
                                                            f"not the authors' checkpoint: pass it as --weights {ours}", 1),
        (["weights", "import", str(text), "--name", "mine"], "notes.pth is not a torch checkpoint (neither a zip archive nor a pickle)", 1),
        (["weights", "import", str(not_mbnet), "--name", "mine"], "other.pkl: not an MBNet (ResNet-50) checkpoint: 1182 missing", 1),
        (["weights", "import", str(tmp_path / "absent.pkl"), "--name", "mine"], "absent.pkl: no such file", 1),
        (["weights", "import", str(not_mbnet), "--name", DEFAULT_MODEL], "shipped with relight; choose another name", 2),
        (["weights", "import", str(not_mbnet), "--name", "../evil"], "--name '../evil': use letters", 2),
    ):
        code, _, err = cli(args)
        assert code == expected, err
        assert message in err, err
        assert len(err.strip().splitlines()) == 1, err
    assert not home.exists() or not any(home.rglob("*")), "a refused import writes nothing"


def test_a_file_of_another_architecture_than_its_entry_is_refused(tiny_config, tmp_path):
    builtin = tmp_path / "weights" / "registry.toml"
    builtin.parent.mkdir()
    text = BUILTIN_REGISTRY.read_text()
    builtin.write_text("\n".join(line for line in text.splitlines() if not line.startswith(("sha256 =", "size_bytes ="))))
    registry = load_registry(builtin, tmp_path / "user.json")
    save_checkpoint(MBNet(tiny_config), builtin.parent / "relight-synth-narrow.safetensors")
    with pytest.raises(WeightsError, match="holds narrow-w8-d16 but the registry says narrow-w16-d32"):
        load_weights("relight-synth-narrow", registry=registry)


def test_the_default_model_gives_every_light():
    """One default for every light, --from and --mirror-avg: the shipped default is any-to-any, so no
    light needs another model."""
    from relight.inference.relighter import Relighter
    from relight.lighting import ALL_LIGHTS
    from relight.weights import default_weights

    entry = _SHIPPED[default_weights()]
    assert entry.config.any_to_any
    relighter = Relighter(load_weights(default_weights()), "cpu", mirror_average=True)
    assert set(relighter.illumination.targets) == set(ALL_LIGHTS)
