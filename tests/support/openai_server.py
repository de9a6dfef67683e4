"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions API with scripted replies.

Tests and benchmarks drive the *real* ``openai`` client (and so the real retries and parsing)
against it.  The reply to each request comes from a *script*: a callable
``(request_json, attempt_no) -> Response``.  ``attempt_no`` is 1 for the first request with a
given (model, messages) body and counts up each time the same body arrives again, which is how
a retried request looks from the server side.

    with OpenAIServer(sequence([Response.error(429, headers={"Retry-After": "1"}),
                                Response.chat("```python\\n...\\n```")])) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
        ...
        assert len(server.requests) == 2

Bounded by design: it binds only 127.0.0.1 on an ephemeral port, delays are interruptible by
``stop()``, request bodies are size-capped, and the helper scripts never loop forever (an
exhausted ``sequence`` answers 418 "script exhausted").
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY_BYTES = 4 * 1024 * 1024
DEFAULT_MODEL = "test-model"


@dataclass(slots=True)
class Response:
    """One scripted answer.

    ``content`` makes a 200 chat completion; ``body`` (JSON) or ``text`` (raw) override the body;
    ``drop`` closes the connection without answering; ``delay_s`` sleeps before answering.
    """

    status: int = 200
    content: str | None = None
    body: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False
    finish_reason: str = "stop"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @classmethod
    def chat(cls, content: str, *, delay_s: float = 0.0, **kwargs: Any) -> Response:
        return cls(status=200, content=content, delay_s=delay_s, **kwargs)

    @classmethod
    def error(
        cls,
        status: int,
        message: str = "scripted error",
        *,
        headers: Mapping[str, str] | None = None,
        delay_s: float = 0.0,
        code: str | None = None,
    ) -> Response:
        body = {"error": {"message": message, "type": _error_type(status), "param": None, "code": code}}
        return cls(status=status, body=body, headers=dict(headers or {}), delay_s=delay_s)

    @classmethod
    def dropped(cls, *, delay_s: float = 0.0) -> Response:
        return cls(drop=True, delay_s=delay_s)


Script = Callable[[dict[str, Any], int], Response]


@dataclass(slots=True, frozen=True)
class RecordedRequest:
    """What the server saw: one HTTP attempt."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    attempt_no: int
    received_at: float  # time.monotonic()

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []

    @property
    def last_user_message(self) -> str:
        return last_user_message(self.body if isinstance(self.body, dict) else {})


# --------------------------------------------------------------------------- script helpers


def last_user_message(request_json: Mapping[str, Any]) -> str:
    """Text of the last ``user`` message of a chat request ("" when there is none)."""
    for message in reversed(list(request_json.get("messages", []))):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):  # content parts
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def prompt_text(request_json: Mapping[str, Any]) -> str:
    """All message contents of a request joined, for substring matching."""
    parts: list[str] = []
    for message in request_json.get("messages", []):
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            parts.append(message["content"])
    return "\n".join(parts)


def always(response: Response) -> Script:
    """Answer every request with ``response``."""
    return lambda _request, _attempt: response


def sequence(responses: Iterable[Response]) -> Script:
    """Answer the n-th HTTP request with the n-th response; afterwards 418 "script exhausted"."""
    items = list(responses)
    lock = threading.Lock()
    counter = itertools.count()

    def script(_request: dict[str, Any], _attempt: int) -> Response:
        with lock:
            index = next(counter)
        if index < len(items):
            return items[index]
        return Response.error(418, f"script exhausted after {len(items)} responses")

    return script


def cycle(responses: Sequence[Response]) -> Script:
    """Answer requests with ``responses`` round-robin (thread-safe)."""
    items = list(responses)
    lock = threading.Lock()
    counter = itertools.count()

    def script(_request: dict[str, Any], _attempt: int) -> Response:
        with lock:
            index = next(counter)
        return items[index % len(items)]

    return script


def by_attempt(responses: Sequence[Response]) -> Script:
    """Answer attempt n of each distinct request with ``responses[n-1]`` (the last one repeats)."""
    items = list(responses)
    return lambda _request, attempt: items[min(attempt, len(items)) - 1]


def by_prompt(rules: Sequence[tuple[str, Script | Response]], default: Script | Response) -> Script:
    """Route on prompt content: the first rule whose substring occurs in the prompt answers.

    A rule's answer is a ``Response`` or a nested script; e.g. route repair prompts (recognisable
    by a phrase of the repair template) to the fixed kernels and everything else to variants.
    """

    def as_script(answer: Script | Response) -> Script:
        return always(answer) if isinstance(answer, Response) else answer

    routed = [(needle, as_script(answer)) for needle, answer in rules]
    fallback = as_script(default)

    def script(request: dict[str, Any], attempt: int) -> Response:
        text = prompt_text(request)
        for needle, answer in routed:
            if needle in text:
                return answer(request, attempt)
        return fallback(request, attempt)

    return script


# --------------------------------------------------------------------------- the server


class OpenAIServer:
    """Background ``ThreadingHTTPServer`` on 127.0.0.1:<ephemeral>; a context manager.

    ``api_key``: when set, requests without ``Authorization: Bearer <api_key>`` get a 401.
    ``models``: when set, a chat request for any other model gets a 404 ``model_not_found``.
    Both checks happen before the script runs, like a real endpoint.
    """

    def __init__(
        self,
        script: Script,
        *,
        api_key: str | None = None,
        models: Sequence[str] | None = (DEFAULT_MODEL,),
    ) -> None:
        self.script = script
        self.api_key = api_key
        self.models = tuple(models) if models is not None else None
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # ----- lifecycle

    def start(self) -> OpenAIServer:
        handler = _make_handler(self)
        httpd = _LoopbackHTTPServer(("127.0.0.1", 0), handler)
        self._httpd = httpd
        self._port = int(httpd.server_address[1])
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- addresses and records

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("server was never started")
        return self._port  # kept after stop() so tests can still build expected messages

    @property
    def base_url(self) -> str:
        """What to pass as ``base_url`` / ``--llm-base-url``: ``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def chat_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # ----- request handling (called from handler threads)

    def _record(self, method: str, path: str, headers: dict[str, str], body: Any) -> RecordedRequest:
        key = (
            json.dumps([body.get("model"), body.get("messages")], sort_keys=True)
            if isinstance(body, dict)
            else ""
        )
        with self._lock:
            attempt = self._seen.get(key, 0) + 1
            self._seen[key] = attempt
            record = RecordedRequest(method, path, headers, body, attempt, time.monotonic())
            self.requests.append(record)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return record

    def _done(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _answer_chat(self, record: RecordedRequest) -> Response:
        body = record.body
        if self.api_key is not None and record.headers.get("authorization") != f"Bearer {self.api_key}":
            return Response.error(401, "Incorrect API key provided.", code="invalid_api_key")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return Response.error(400, "'messages' is a required property")
        model = body.get("model")
        if self.models is not None and model not in self.models:
            return Response.error(404, f"The model `{model}` does not exist.", code="model_not_found")
        return self.script(body, record.attempt_no)

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops first; False when stopping."""
        return not self._stopping.wait(seconds) if seconds > 0 else not self._stopping.is_set()


class _LoopbackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a handler stuck in a delay never blocks shutdown
    request_queue_size = 128  # many clients connecting at once (benchmarks run 16+ in flight)


def completion_body(response: Response, request_json: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAI wire format of a chat completion carrying ``response.content``."""
    content = response.content or ""
    prompt_tokens = response.prompt_tokens
    if prompt_tokens is None:
        prompt_tokens = max(1, len(prompt_text(request_json).split()))
    completion_tokens = response.completion_tokens
    if completion_tokens is None:
        completion_tokens = max(1, len(content.split()))
    return {
        "id": f"chatcmpl-{time.monotonic_ns():x}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(request_json.get("model", DEFAULT_MODEL)),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": response.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _error_type(status: int) -> str:
    return {
        400: "invalid_request_error",
        401: "invalid_request_error",
        403: "permission_error",
        404: "invalid_request_error",
        429: "rate_limit_error",
    }.get(status, "server_error")


def _make_handler(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like a real endpoint

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return  # keep test output quiet

        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            record = server._record("GET", self.path, self._headers(), None)
            try:
                if self.path.rstrip("/").endswith("/models"):
                    data = [
                        {"id": m, "object": "model", "created": 0, "owned_by": "test"}
                        for m in server.models or ()
                    ]
                    self._send(Response(body={"object": "list", "data": data}), {})
                else:
                    self._send(Response.error(404, f"no route GET {record.path}"), {})
            finally:
                server._done()

        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self.close_connection = True
                self._send(Response.error(413, "request body too large"), {})
                return
            raw = self.rfile.read(length) if length else b""
            try:
                body: Any = json.loads(raw) if raw else {}
            except json.JSONDecodeError:
                body = raw.decode("utf-8", "replace")
            record = server._record("POST", self.path, self._headers(), body)
            try:
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    response = Response.error(404, f"no route POST {record.path}")
                else:
                    response = server._answer_chat(record)
                if not server._sleep(response.delay_s):
                    self.close_connection = True
                    return
                if response.drop:
                    self.close_connection = True  # no status line at all: a dropped connection
                    return
                self._send(response, body if isinstance(body, dict) else {})
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (e.g. its timeout fired)
            finally:
                server._done()

        def _headers(self) -> dict[str, str]:
            return {k.lower(): v for k, v in self.headers.items()}

        def _send(self, response: Response, request_json: Mapping[str, Any]) -> None:
            if response.text is not None:
                payload = response.text.encode()
                content_type = "text/plain; charset=utf-8"
            else:
                data = response.body
                if data is None:
                    data = completion_body(response, request_json)
                payload = json.dumps(data).encode()
                content_type = "application/json"
            self.send_response(response.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()

    return Handler
