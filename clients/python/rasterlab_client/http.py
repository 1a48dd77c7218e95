"""HTTP to the Rasterlab API: token authentication, JSON, uploads, downloads, pagination."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, BinaryIO, Dict, Iterator, Optional, Union

import requests

from .errors import RasterlabError

PathLike = Union[str, "os.PathLike[str]"]


class Http:
    def __init__(self, url: str, token: Optional[str], timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Token {token}"

    def login(self, username: str, password: str) -> str:
        """A token for a username and password (POST /api/auth/token/)."""
        body = self.request("POST", "/api/auth/token/", json={"username": username, "password": password})
        self.token = body["token"]
        self.session.headers["Authorization"] = f"Token {self.token}"
        return self.token

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout)
        response = self.session.request(method, self.url + path, **kwargs)
        check(response)
        if response.status_code == 204 or not response.content:
            return None
        if "json" in response.headers.get("Content-Type", ""):
            return response.json()
        return response.content

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=json, **kwargs)

    def pages(self, path: str, **params: Any) -> Iterator[Dict[str, Any]]:
        """Every item of a paginated list ({count, next, results})."""
        page = self.get(path, **params)
        while True:
            yield from page["results"]
            if not page.get("next"):
                return
            page = self.request("GET", page["next"].replace(self.url, "", 1) if page["next"].startswith(self.url)
                                else page["next"][page["next"].index("/api/"):])

    def upload(self, path: str, file: PathLike, fields: Dict[str, Any]) -> Any:
        """A multipart POST of one file (streamed from disk) and form fields."""
        name = Path(file).name
        with open(file, "rb") as handle:
            data = {k: str(v) for k, v in fields.items() if v is not None}
            return self.request("POST", path, files={"file": (name, handle)}, data=data, timeout=None)

    def download(self, path: str, out: PathLike, chunk: int = 1 << 20) -> Path:
        """Stream a file to ``out`` (a folder: the server's file name is kept)."""
        with self.session.get(self.url + path, stream=True, timeout=self.timeout) as response:
            check(response)
            target = Path(out)
            if target.is_dir():
                target = target / _filename(response)
            with open(target, "wb") as handle:
                _copy(response.iter_content(chunk), handle)
        return target


def check(response: requests.Response) -> None:
    """RasterlabError with the server's ``detail`` for any 4xx/5xx."""
    if response.status_code < 400:
        return
    body: Any = None
    detail = response.reason or "error"
    try:
        body = response.json()
        detail = body.get("detail", detail) if isinstance(body, dict) else str(body)
    except ValueError:
        text = response.text.strip()
        detail = text[:500] if text else detail
    raise RasterlabError(str(detail), response.status_code, body)


def _filename(response: requests.Response) -> str:
    disposition = response.headers.get("Content-Disposition", "")
    for part in disposition.split(";"):
        key, _, value = part.strip().partition("=")
        if key == "filename":
            return Path(value.strip('"')).name or "download"
    return "download"


def _copy(chunks: Iterator[bytes], handle: BinaryIO) -> None:
    for block in chunks:
        handle.write(block)
