"""A loopback stand-in for the Hugging Face Hub's file-resolve API, for download tests without a network.

``huggingface_hub.hf_hub_download`` first sends ``HEAD /{repo}/resolve/{revision}/{filename}`` and needs
``X-Repo-Commit`` (the commit the revision points to), an ``ETag`` (it names the cached blob) and
``Content-Length``; it then ``GET``s the same URL. Misses answer 404 with the ``X-Error-Code`` the Hub
uses (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``), so the client raises the same errors
it raises against the real Hub. Files are served directly (the real Hub redirects large files to a CDN;
the client follows either). Every request is recorded, and ``fail`` makes every request of a method
answer a chosen status, to play an outage (with ``Retry-After: 0``, so the client's retries stay quick).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


@dataclass
class _Repo:
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)


class HubServer:
    """``with HubServer() as hub: hub.add_file(...); os.environ["HF_ENDPOINT"] = hub.url``."""

    def __init__(self) -> None:
        self.repos: dict[str, _Repo] = {}
        self.requests: list[tuple[str, str]] = []
        self.fail: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add_file(self, repo: str, filename: str, data: bytes, *, branch: str = "main", commit: str | None = None) -> str:
        """Commit ``data`` as ``filename`` on ``branch`` (keeping the branch's other files) as ``commit``
        (default: a new hash; naming one lets a test stand in for a real repository's pinned commit)."""
        with self._lock:
            r = self.repos.setdefault(repo, _Repo())
            files = dict(r.commits.get(r.branches.get(branch, ""), {}))
            files[filename] = data
            commit = commit or hashlib.sha1(f"{repo}@{len(r.commits)}".encode()).hexdigest()
            r.commits[commit] = files
            r.branches[branch] = commit
            return commit

    def count(self, method: str) -> int:
        """How many ``method`` requests reached the file-resolve API (other endpoints are not counted)."""
        with self._lock:
            return sum(1 for m, path in self.requests if m == method and "/resolve/" in path)

    def __enter__(self) -> "HubServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _lookup(self, path: str) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) for a resolve URL, following the Hub's conventions."""
        parts = [unquote(p) for p in urlsplit(path).path.strip("/").split("/")]
        if len(parts) < 5 or parts[2] != "resolve":
            return 404, {"X-Error-Code": "RepoNotFound"}, b"not a resolve URL"
        repo_id, revision, filename = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
        with self._lock:
            repo = self.repos.get(repo_id)
            if repo is None:
                return 404, {"X-Error-Code": "RepoNotFound"}, b"Repository not found"
            commit = repo.branches.get(revision, revision if revision in repo.commits else None)
            if commit is None:
                return 404, {"X-Error-Code": "RevisionNotFound"}, b"Invalid rev id"
            data = repo.commits[commit].get(filename)
        if data is None:
            return 404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit}, b"Entry not found"
        headers = {
            "X-Repo-Commit": commit,
            "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
            "Content-Type": "application/octet-stream",
        }
        return 200, headers, data

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, with_body: bool) -> None:
                with hub._lock:
                    hub.requests.append((self.command, self.path))
                    failing = hub.fail.get(self.command)
                if failing is not None:
                    status, headers, body = failing, {"Retry-After": "0"}, b"simulated server error"
                else:
                    status, headers, body = hub._lookup(self.path)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if with_body:
                    self.wfile.write(body)

            def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
                self._answer(with_body=False)

            def do_GET(self) -> None:  # noqa: N802
                self._answer(with_body=True)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet test output
                pass

        return Handler
