"""Import of the authors' published checkpoint (``weight.pkl``) into :class:`~relight.model.MBNet`.

The authors' module names differ from ours; :data:`KEY_RULES` is the whole translation, as data.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch

from relight.errors import RelightError, Setting, UnsafeFileError, first_line, listed
from relight.model.config import MBNetConfig
from relight.model.mbnet import MBNet

#: Regex rewrites applied in order to turn an authors' key into ours.
KEY_RULES: tuple[tuple[str, str], ...] = (
    (r"^(depth_)?encoder2\.0\.", r"\1encoder.conv1."),
    (r"^(depth_)?encoder2\.1\.", r"\1encoder.bn1."),
    (r"^(depth_)?encoder4\.1\.", r"\1encoder.layer1."),
    (r"^(depth_)?encoder8\.", r"\1encoder.layer2."),
    (r"^(depth_)?encoder16\.", r"\1encoder.layer3."),
    (r"^(depth_)?encoder32\.", r"\1encoder.layer4."),
    (r"^encoder\.", "rgb_encoder."),
    (r"^depth_trans(\d+)\.fuse_down_mul\.", r"fuse\1.pre."),
    (r"^depth_trans(\d+)\.res_main\.", r"fuse\1.dense."),
    (r"^depth_trans(\d+)\.fuse_main\.", r"fuse\1.post."),
    (r"^trans(\d+)\.", r"lat\1."),
    (r"^upconv(\d+)\.", r"up\1."),
    (r"^selfdc_(\d+)\.down_input\.", r"ddpm\1.reduce."),
    (r"^selfdc_(\d+)\.branch_1\.", r"ddpm\1.branches.0."),
    (r"^selfdc_(\d+)\.branch_3\.", r"ddpm\1.branches.1."),
    (r"^selfdc_(\d+)\.branch_5\.", r"ddpm\1.branches.2."),
    (r"^selfdc_(\d+)\.", r"ddpm\1."),
    (r"\.gernerate_kernel\.", ".kgu."),
    (r"(branches\.\d)\.fuse\.", r"\1.out."),
    (r"\.denseblock\.", ".blocks."),
    (r"\.basicconv\.", "."),
    (r"^classifier\.", "head."),
)

_COMPILED = tuple((re.compile(p), r) for p, r in KEY_RULES)


class CheckpointMismatchError(RelightError, ValueError):
    """The authors' checkpoint does not fit the network: names what is missing, extra or mis-shaped."""


def authors_key_to_ours(key: str) -> str:
    """Translate one authors' state-dict key (without any ``module.`` prefix) into ours."""
    for pattern, repl in _COMPILED:
        key = pattern.sub(repl, key)
    return key


def convert_authors_state_dict(
    state: Mapping[str, torch.Tensor], model: MBNet | None = None
) -> dict[str, torch.Tensor]:
    """Map every tensor of the authors' state dict onto ``model``'s keys, checking names and shapes."""
    model = model or MBNet(MBNetConfig.paper())
    expected = model.state_dict()
    converted: dict[str, torch.Tensor] = {}
    extra: list[str] = []
    misshaped: list[str] = []
    seen: set[str] = set()
    for key, tensor in state.items():
        ours = authors_key_to_ours(key.removeprefix("module."))
        seen.add(ours)
        if ours not in expected:
            extra.append(key)
        elif tuple(tensor.shape) != tuple(expected[ours].shape):
            misshaped.append(f"{key} {tuple(tensor.shape)} != {tuple(expected[ours].shape)}")
        else:
            converted[ours] = tensor
    missing = [k for k in expected if k not in seen]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing ({listed(missing, 5)})")
    if extra:
        problems.append(f"{len(extra)} unexpected ({listed(extra, 5)})")
    if misshaped:
        problems.append(f"{len(misshaped)} mis-shaped ({listed(misshaped, 3)})")
    if problems:
        raise CheckpointMismatchError("not an MBNet (ResNet-50) checkpoint: " + "; ".join(problems))
    return converted


def _refusal(exc: Exception) -> str | None:
    """What ``torch.load(weights_only=True)`` refused to run, in a few words, or None when it failed for
    another reason. Its own message advises loading with ``weights_only=False``, which would run whatever
    code the file holds: not repeated here."""
    text = str(exc)
    if "WeightsUnpickler error:" not in text:
        return None
    return " ".join(text.split("WeightsUnpickler error:", 1)[1].split("Check the documentation", 1)[0].split())


def read_authors_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """Read ``weight.pkl`` safely (``weights_only=True``): a dict with ``state_dict``, or a bare state dict."""
    path = Path(path)
    with path.open("rb") as fh:
        head = fh.read(9)
    if len(head) == 9 and head[8:9] == b"{":  # safetensors: an 8-byte header length, then a JSON header
        weights = Setting("weights", str(path), owner="Relighter.from_weights", shown=str(path))
        raise CheckpointMismatchError(
            f"{path} is a safetensors file, relight's own format, not the authors' checkpoint: pass it as ", weights, path=path
        )
    if not head.startswith((b"PK\x03\x04", b"\x80")):  # torch.save writes a zip archive, or (before 1.6) a pickle
        raise CheckpointMismatchError(f"{path} is not a torch checkpoint (neither a zip archive nor a pickle)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch's notes on pickle protocols: noise for a user
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or unsafe files
        refused = _refusal(exc)
        if refused is not None:
            raise UnsafeFileError(path, f"a safe load refused it: {refused}; relight never runs code from a checkpoint") from None
        raise CheckpointMismatchError(f"cannot read {path} as a torch checkpoint ({type(exc).__name__}: {first_line(exc)})") from exc
    if isinstance(obj, Mapping) and "state_dict" in obj:
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointMismatchError(f"{path} holds no state dict of tensors")
    return dict(obj)


def model_from_authors_state(state: Mapping[str, torch.Tensor]) -> MBNet:
    """The paper's MBNet holding the authors' tensors (converted and checked), without random initialisation.

    The network is built on the meta device and takes the checkpoint's tensors as its own: every one
    comes from the file, and initialising the paper model's 153 M weights first took about a second.
    """
    with torch.device("meta"):
        model = MBNet(MBNetConfig.paper())
    model.load_state_dict(convert_authors_state_dict(state, model), assign=True)
    return model


def load_authors_checkpoint(path: str | Path) -> MBNet:
    """Build the paper's MBNet and load the authors' checkpoint into it."""
    return model_from_authors_state(read_authors_checkpoint(path))
