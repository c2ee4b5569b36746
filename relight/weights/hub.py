"""Hugging Face Hub files: ``hf://`` addresses read with huggingface_hub's own grammar, and downloads.

An address is ``hf://owner/repo[@revision]/path/to/file`` (huggingface_hub's ``hf://[TYPE/]ID[@REV][/PATH]``,
for model repositories). relight's older form, ``hf://owner/repo/path/to/file@revision``, still works and
comes with a one-line note giving the standard form. Downloads go through ``hf_hub_download``, so its
cache, ``HF_HOME``, ``HF_ENDPOINT``, ``HF_HUB_OFFLINE`` and tokens all apply.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relight.errors import Part, Setting, action, first_line
from relight.weights.errors import HubError, InvalidWeightsSetting, UnknownWeights, WeightsUnavailable

#: ``report(bytes_done, total_bytes_or_None)``, called as a download progresses.
ByteProgress = Callable[[int, "int | None"], None]
_EXAMPLE = "expected hf://owner/repo/file or hf://owner/repo@revision/file, e.g. hf://me/mbnet@main/model.safetensors"


class OlderHubAddress(FutureWarning):
    """An ``hf://`` address in relight's older form (revision after the file); the message gives the standard form."""



def offline() -> bool:
    """Whether downloads are off (the one switch for every download relight makes): ``RELIGHT_OFFLINE``
    or huggingface_hub's ``HF_HUB_OFFLINE``."""
    from huggingface_hub import constants

    return os.environ.get("RELIGHT_OFFLINE", "") not in ("", "0") or bool(constants.HF_HUB_OFFLINE)

@dataclass(frozen=True)
class HubFile:
    """One file of a Hugging Face Hub model repository at one revision."""

    repo: str
    filename: str
    revision: str = "main"

    @property
    def spec(self) -> str:
        """The address in huggingface_hub's standard form, ``hf://owner/repo@revision/file``, as messages
        and ``relight weights info`` show it."""
        return f"hf://{self.repo}@{self.revision}/{self.filename}"


def _bad_address(spec: str, why: str) -> InvalidWeightsSetting:
    setting = Setting("weights", spec, owner="Relighter.from_weights")
    return InvalidWeightsSetting(setting, f"{spec}: {why}; {_EXAMPLE}")


def read_hf_address(spec: str) -> tuple[HubFile, str | None]:
    """The :class:`HubFile` an ``hf://`` address names, and a note when it is in relight's older form.

    huggingface_hub's ``parse_hf_uri`` reads the address. It takes an ``@`` after the file name as part
    of the name; relight's older form put the revision there, so a path whose last ``@`` follows a file
    name and no revision given the standard way is read as that older form (a file whose name holds
    ``@`` is reached by giving the revision first: ``hf://owner/repo@main/name@2x.safetensors``).
    """
    from huggingface_hub import parse_hf_uri
    from huggingface_hub.errors import HfUriError

    try:
        uri = parse_hf_uri(spec)
    except HfUriError as exc:
        raise _bad_address(spec, exc.msg.rstrip(". ")) from None
    if uri.type != "model":
        raise _bad_address(spec, f"relight loads weights from model repositories, not a {uri.type}")
    path, revision, older = uri.path_in_repo, uri.revision, False
    if revision is None and "@" in path:
        path, _, revision = path.rpartition("@")
        older = True
        if not revision:
            raise _bad_address(spec, "no revision after its '@'")
    if not path or path.endswith("/"):
        raise _bad_address(spec, "it names no file")
    hub = HubFile(uri.id, path, revision or "main")
    note = f"{spec} is relight's older form of an hf:// address; the standard form is {hub.spec}" if older else None
    return hub, note


def parse_hf_spec(spec: str) -> HubFile:
    """``hf://owner/repo[@revision]/file`` (or the older ``hf://owner/repo/file[@revision]``) -> :class:`HubFile`."""
    return read_hf_address(spec)[0]


def _progress_class(report: ByteProgress) -> type:
    class _Bar:
        """Just enough of tqdm's interface for huggingface_hub to report bytes to ``report``."""

        def __init__(self, *args: Any, total: int | None = None, initial: int = 0, **kwargs: Any) -> None:
            self.total, self.n = total, initial
            report(self.n, self.total)

        def update(self, n: int = 1) -> None:
            self.n += n
            report(self.n, self.total)

        def close(self) -> None:
            pass

        def __enter__(self) -> "_Bar":
            return self

        def __exit__(self, *exc: object) -> None:
            self.close()

    return _Bar


def _installed_version() -> str | None:
    """relight's version for the Hub's user agent, from the installed metadata (None in a bare source tree)."""
    try:
        return importlib.metadata.version("relight")
    except importlib.metadata.PackageNotFoundError:
        return None


#: Seconds the Hub has to answer the first request of a download (unless ``HF_HUB_ETAG_TIMEOUT`` is set):
#: huggingface_hub itself retries an unanswered request, each time with a longer timeout.
PROBE_SECONDS = 5


def _unreachable(hub: HubFile, name: str | None) -> HubError | None:
    """A Hub that does not answer, said at once: huggingface_hub's HEAD request for the file, sent once
    (``HF_HUB_ETAG_TIMEOUT`` or :data:`PROBE_SECONDS`), before ``hf_hub_download`` and its retries. Any
    answer, an HTTP error included, is left to ``hf_hub_download`` to word; no answer is the error returned."""
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import HfHubHTTPError

    timeout = constants.HF_HUB_ETAG_TIMEOUT if os.environ.get("HF_HUB_ETAG_TIMEOUT") else PROBE_SECONDS
    try:
        get_hf_file_metadata(hf_hub_url(hub.repo, hub.filename, revision=hub.revision), timeout=timeout)
    except HfHubHTTPError:
        return None
    except Exception as exc:  # noqa: BLE001 - no answer: a refused connection, a timeout, a name that does not resolve
        label, reason = (f"{name} ({hub.spec})" if name else hub.spec), f"{constants.ENDPOINT}: {first_line(exc)}"
        return HubError(f"{label}: cannot reach {constants.ENDPOINT} ({first_line(exc)}) and there is no cached copy; check the "
                        "connection, proxy or HF_ENDPOINT (HF_HUB_OFFLINE=1 uses the cache only)", unreachable=True, reason=reason)
    return None


def download(hub: HubFile, *, progress: ByteProgress | None = None, name: str | None = None) -> Path:
    """Fetch one Hub file into the Hugging Face cache (or find it there); Hub failures become one line,
    and a Hub that does not answer fails in seconds (:func:`_unreachable`).

    ``name`` is what the user called it (a registry name), for the hints in the messages.
    """
    from huggingface_hub import constants, hf_hub_download, try_to_load_from_cache

    if not constants.is_offline_mode() and not isinstance(try_to_load_from_cache(hub.repo, hub.filename, revision=hub.revision), str):
        failure = _unreachable(hub, name)
        if failure is not None:
            raise failure

    # Every failure becomes one line, so the library's retry warnings would only repeat it.
    hub_logger = logging.getLogger("huggingface_hub")
    level = hub_logger.level
    hub_logger.setLevel(logging.ERROR)
    try:
        return Path(
            hf_hub_download(
                hub.repo,
                hub.filename,
                revision=hub.revision,
                library_name="relight",
                library_version=_installed_version(),
                tqdm_class=_progress_class(progress) if progress else None,
            )
        )
    except Exception as exc:  # noqa: BLE001 - what _download_failure does not know is raised as it is
        failure = _download_failure(exc, hub, name)
        if failure is exc:
            raise
        raise failure from None
    finally:
        hub_logger.setLevel(level)


def _download_failure(exc: Exception, hub: HubFile, name: str | None) -> Exception:
    """The one-line error for a failed ``hf_hub_download``; unknown exceptions come back as they are."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        FileMetadataError,
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    label, endpoint = (f"{name} ({hub.spec})" if name else hub.spec), constants.ENDPOINT
    if isinstance(exc, LocalEntryNotFoundError):
        cause = exc.__cause__
        if constants.is_offline_mode() or isinstance(cause, OfflineModeIsEnabled):
            target = name or hub.spec
            parts: tuple[Part, ...] = (
                f"{label}: not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and HF_HUB_OFFLINE is set: ",
                action("download", f"call relight.weights.resolve_weights({target!r})", name=target),
                " once with HF_HUB_OFFLINE unset, or ",
                action("pass-weights", "pass the path of a local copy instead", what="PATH"),
            )
            return WeightsUnavailable(Path(constants.HF_HUB_CACHE), *parts)
        if isinstance(cause, HfHubHTTPError) and cause.response is not None:
            return HubError(
                f"{label}: the Hub at {endpoint} answered HTTP {cause.response.status_code} and there is no cached "
                "copy; try again later", status=cause.response.status_code
            )
        if isinstance(cause, FileMetadataError):
            return HubError(f"{label}: {endpoint} does not answer like a Hugging Face Hub; check HF_ENDPOINT")
        return HubError(
            f"{label}: cannot reach {endpoint} and there is no cached copy; check the connection, proxy or "
            "HF_ENDPOINT (HF_HUB_OFFLINE=1 uses the cache only)"
        )
    if isinstance(exc, GatedRepoError):
        return HubError(f"{label}: {hub.repo} is gated: accept its terms on the Hub, then log in (`hf auth login` or HF_TOKEN)")
    if isinstance(exc, RepositoryNotFoundError):
        return UnknownWeights(f"{label}: no repository {hub.repo} on {endpoint} (or it is private: log in with `hf auth login` or set HF_TOKEN)")
    if isinstance(exc, RevisionNotFoundError):
        return UnknownWeights(f"{label}: {hub.repo} has no revision {hub.revision!r}")
    if isinstance(exc, RemoteEntryNotFoundError):
        return UnknownWeights(f"{label}: {hub.repo} has no file {hub.filename!r} at revision {hub.revision}")
    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else "error"
        return HubError(f"{label}: download failed: {endpoint} answered HTTP {status}; try again later", status=status)
    if isinstance(exc, (OSError, ValueError)):  # disk full, truncated transfer, a repo id the Hub would refuse
        return HubError(f"{label}: download failed ({first_line(exc)})")
    return exc
