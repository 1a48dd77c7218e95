"""Jobs: started with POST /api/jobs/, followed over their websocket (/ws/jobs/{id}/) with a tqdm
progress bar (a widget in Jupyter, text in a terminal). Ctrl-C while waiting cancels the job on the
server; a failed job raises JobFailed with the server's error."""
from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, Optional
from urllib.parse import urlsplit, urlunsplit

from .errors import JobCancelled, JobFailed

if TYPE_CHECKING:
    from .http import Http

FINISHED = ("succeeded", "failed", "cancelled")
POLL_SECONDS = 1.0
# Without an event for this long, the state is read over HTTP too (an event lost in a reconnect).
QUIET_SECONDS = 15.0


class Job:
    """A server-side job. ``status``: queued, running, succeeded, failed or cancelled."""

    def __init__(self, http: "Http", state: Dict[str, Any]) -> None:
        self._http = http
        self._state: Dict[str, Any] = {}
        self._update(state)

    def _update(self, state: Dict[str, Any]) -> None:
        self._state.update({k: v for k, v in state.items() if k != "type"})

    id = property(lambda self: self._state["id"])
    kind = property(lambda self: self._state.get("kind", "job"))
    status = property(lambda self: self._state.get("status"))
    progress = property(lambda self: float(self._state.get("progress") or 0.0))
    message = property(lambda self: self._state.get("message") or "")
    result = property(lambda self: self._state.get("result") or {})
    error = property(lambda self: self._state.get("error") or "")
    params = property(lambda self: self._state.get("params") or {})
    metrics = property(lambda self: self._state.get("metrics") or {})

    @property
    def done(self) -> bool:
        return self.status in FINISHED

    def refresh(self) -> "Job":
        self._update(self._http.get(f"/api/jobs/{self.id}/"))
        return self

    def cancel(self) -> "Job":
        """Ask the server to cancel (a running job stops at its next check)."""
        self._update(self._http.post(f"/api/jobs/{self.id}/cancel/"))
        return self

    def wait(self, progress: bool = True, on_event: Optional[Callable[["Job"], None]] = None) -> "Job":
        """Block until the job ends; returns it when it succeeded, else raises JobFailed/JobCancelled.

        Ctrl-C (KeyboardInterrupt) cancels the job on the server, then propagates."""
        bar = _bar(self) if progress else None
        try:
            for state in self._states():
                self._update(state)
                if bar is not None:
                    bar.n = round(100 * self.progress, 1)
                    bar.set_postfix_str(self.message[:60], refresh=False)
                    bar.refresh()
                if on_event is not None:
                    on_event(self)
                if self.done:
                    break
        except KeyboardInterrupt:
            try:
                self.cancel()
            finally:
                if bar is not None:
                    bar.set_postfix_str("cancelled")
                    bar.close()
                    bar = None
            raise
        finally:
            if bar is not None:
                bar.close()
        if self.status == "failed":
            raise JobFailed(self)
        if self.status == "cancelled":
            raise JobCancelled(self)
        return self

    def _states(self) -> Iterator[Dict[str, Any]]:
        """Job states as they change: the websocket's events, or HTTP polling when it is unavailable."""
        try:
            socket = _connect(self._http, self.id)
        except Exception:  # noqa: BLE001 - no websocket (proxy, old server): poll instead
            socket = None
        if socket is None:
            while True:
                yield self._http.get(f"/api/jobs/{self.id}/")
                time.sleep(POLL_SECONDS)
        import websocket

        try:
            while True:
                try:
                    message = socket.recv()
                except websocket.WebSocketTimeoutException:
                    yield self._http.get(f"/api/jobs/{self.id}/")
                    continue
                except (websocket.WebSocketConnectionClosedException, OSError):
                    # The server went away or restarted: carry on over HTTP.
                    while True:
                        yield self._http.get(f"/api/jobs/{self.id}/")
                        time.sleep(POLL_SECONDS)
                if message:
                    yield json.loads(message)
        finally:
            socket.close()

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.status} {self.progress:.0%}>"


def _connect(http: "Http", job_id: int) -> Any:
    import websocket

    parts = urlsplit(http.url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    query = f"token={http.token}" if http.token else ""
    url = urlunsplit((scheme, parts.netloc, f"{parts.path}/ws/jobs/{job_id}/", query, ""))
    return websocket.create_connection(url, timeout=QUIET_SECONDS, suppress_origin=True)


def _bar(job: Job) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=100, desc=f"{job.kind} #{job.id}", unit="%",
                bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]")
