"""The HTTP server: routes each request to its dialect, records it, and runs in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from . import anthropic, chat, gemini, responses
from .recorder import Recorder
from .script import Entry, Script
from .wire import Request, Response
from .worker import Conversation, Step, Worker

DIALECTS = (anthropic, responses, chat, gemini)
# (error kind, the HTTP status the script asked for or None) -> the dialect's error response
ErrorMaker = Callable[[str, "int | None"], Response]
Renderer = Callable[[Step, Entry], Response]


class Turn:
    """Everything a dialect needs to answer one model request."""

    def __init__(self, model: MockModel) -> None:
        self.model = model
        self.worker = model.worker

    def side(self, conversation: Conversation, render: Callable[[Entry], Response],
             error: ErrorMaker) -> Response:
        """A request that is not a worker turn (a title, a commit message ...): no step taken,
        but the scripted error still applies (a bad key fails every call)."""
        entry = self.worker.entry(conversation)
        if entry.error is not None and entry.error_times is None:  # counted errors: turns only
            response = error(entry.error, entry.error_status)
            response.step = f"error:{entry.error}"
        else:
            response = render(entry)
            response.step = "side"
        response.task = conversation.task
        return response

    def answer(self, conversation: Conversation, render: Renderer, error: ErrorMaker,
               label: str | None = None) -> Response:
        """The scripted delay, then the scripted error or the worker's next step."""
        entry = self.worker.entry(conversation)
        self.model.arrived(conversation.task)
        if entry.delay:
            time.sleep(entry.delay)
        if entry.error is not None and self.model.take_error(conversation.task, entry):
            response = error(entry.error, entry.error_status)
            response.step, response.task = f"error:{entry.error}", conversation.task
            return response
        step = self.worker.next_step(conversation)
        response = render(step, entry)
        response.step = label or (f"{step.kind}:{step.path}" if step.path else step.kind)
        response.task = conversation.task
        return response


class MockModel:
    """A local model server speaking every dialect; a context manager that serves in a thread.

    >>> with MockModel(script={"b": {"status": "blocked"}}) as mock:   # doctest: +SKIP
    ...     env = mock.env_for("claude")
    """

    def __init__(self, script: Script | dict[str, Any] | str | Path | None = None, *,
                 log: str | Path | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        if isinstance(script, (str, Path)):
            script = Script.load(script)
        elif not isinstance(script, Script):
            script = Script.parse(script)
        self.worker = Worker(script)
        self.recorder = Recorder(log)
        self._errors_given: dict[str | None, int] = {}
        self._arrivals: dict[str | None, int] = {}
        self._lock = threading.Lock()
        self._arrival = threading.Condition(self._lock)
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- the server ---------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request served so far (method, path, dialect, task, step, status, body)."""
        return self.recorder.snapshot()

    def model_requests(self, task: str | None = None) -> list[dict[str, Any]]:
        """The requests the worker answered (steps and errors, not side requests such as a
        title or a commit message), optionally for one task."""
        return [r for r in self.requests if r.get("step") not in (None, "side")
                and (task is None or r.get("task") == task)]

    def start(self) -> MockModel:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="mockmodel",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def arrived(self, task: str | None) -> None:
        with self._lock:
            self._arrivals[task] = self._arrivals.get(task, 0) + 1
            self._arrival.notify_all()

    def wait_for_turns(self, task: str | None, count: int, timeout: float) -> bool:
        """Wait until ``count`` worker turns of ``task`` have arrived, answered or still held by
        the script's ``delay`` (a client stopped then is cut off mid-turn); False at the
        deadline."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._arrivals.get(task, 0) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._arrival.wait(left)
            return True

    # -- the script's state -------------------------------------------------------------------
    def take_error(self, task: str | None, entry: Entry) -> bool:
        """Whether this request fails (counting against the entry's ``error_times``)."""
        with self._lock:
            given = self._errors_given.get(task, 0)
            if entry.error_times is not None and given >= entry.error_times:
                return False
            self._errors_given[task] = given + 1
            return True

    # -- how each CLI reaches it --------------------------------------------------------------
    def env_for(self, cli: str) -> dict[str, str]:
        from .clients import env_for

        return env_for(cli, self.url)

    def agent_settings_for(self, cli: str) -> dict[str, Any]:
        from .clients import agent_settings_for

        return agent_settings_for(cli, self.url)

    def args_for(self, cli: str) -> list[str]:
        from .clients import args_for

        return args_for(cli, self.url)

    # -- one request --------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        dialect_name = None
        response = None
        try:
            for dialect in DIALECTS:
                response = dialect.handle(request, Turn(self))
                if response is not None:
                    dialect_name = dialect.NAME
                    break
        except Exception as exc:  # noqa: BLE001 - a bug in the mock must show, not hang the client
            response = Response.json({"error": {"message": f"mock model error: {exc!r}",
                                                "type": "mock_error"}}, 500)
        if response is None:
            response = _side(request)
        self.recorder.add({
            "method": request.method, "path": request.path, "dialect": dialect_name,
            "task": response.task, "step": response.step, "status": response.status,
            "body": request.json() if request.body else None,
        })
        return response


def _side(request: Request) -> Response:
    """Anything no dialect knows (telemetry, update checks ...): a harmless empty answer."""
    if request.method == "GET" and request.path.rstrip("/").endswith("/models"):
        return Response.json({"object": "list", "data": [], "models": []})
    return Response.json({})


def _handler(model: MockModel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "shoal-mockmodel"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                body = self._read_chunked()
            request = Request.make(self.command, self.path, dict(self.headers.items()), body)
            response = model.handle(request)
            try:
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # a client killed mid-turn
                self.close_connection = True

        def _read_chunked(self) -> bytes:
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def do_HEAD(self) -> None:
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
