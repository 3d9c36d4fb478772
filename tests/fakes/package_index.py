"""A package index on loopback that serves wheels the tests make, by the simple repository API
in JSON (PEP 691) with each file's upload time (PEP 700): what pip's --uploaded-prior-to reads."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_wheel(folder: Path, name: str, version: str, requires: list[str] = ()) -> Path:
    """A pure-Python wheel of a module `name` whose `__version__` is `version`, requiring `requires`."""
    dist = f"{name}-{version}.dist-info"
    needs = "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {f"{name}.py": f"__version__ = {version!r}\n",
             f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{needs}",
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = [f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b'=').decode()},{len(t.encode())}"
              for p, t in files.items()]
    files[f"{dist}/RECORD"] = "\n".join(record + [f"{dist}/RECORD,,"]) + "\n"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as whl:
        for p, t in files.items():
            whl.writestr(p, t)
    return path


class PackageIndex:
    """`with PackageIndex({"pkg": [(wheel_path, "2017-01-01T00:00:00Z"), ...]}) as index:` then
    `index.url` is a simple index URL."""

    def __init__(self, packages: dict[str, list[tuple[Path, str]]]):
        self.packages = packages

    def __enter__(self) -> "PackageIndex":
        packages = self.packages

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                parts = [p for p in self.path.split("?")[0].split("/") if p]
                if len(parts) == 2 and parts[0] == "simple" and parts[1] in packages:
                    files = [{"filename": w.name, "url": f"/files/{w.name}", "upload-time": when,
                              "hashes": {"sha256": hashlib.sha256(w.read_bytes()).hexdigest()}}
                             for w, when in packages[parts[1]]]
                    body = json.dumps({"meta": {"api-version": "1.1"}, "name": parts[1], "files": files,
                                       "versions": sorted({w.name.split("-")[1] for w, _ in packages[parts[1]]})}).encode()
                    return self._send(body, "application/vnd.pypi.simple.v1+json")
                if len(parts) == 2 and parts[0] == "files":
                    for wheels in packages.values():
                        for w, _ in wheels:
                            if w.name == parts[1]:
                                return self._send(w.read_bytes(), "application/octet-stream")
                self.send_error(404)

            def _send(self, body: bytes, kind: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple/"
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
