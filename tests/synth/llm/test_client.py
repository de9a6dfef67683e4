"""synth.llm.client: ChatClient through the real openai SDK over real HTTP against the loopback server."""

from __future__ import annotations

import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import openai
import pytest

from tests.support.openai_server import (
    DEFAULT_MODEL,
    OpenAIServer,
    Response,
    Script,
    always,
    by_attempt,
    sequence,
)
from warp_synth.synth.llm.client import CallBudget, ChatClient, retry_after_seconds
from warp_synth.synth.llm.config import LLMBudgetExhausted, LLMConfig, LLMFatalError, LLMRequestError

pytestmark = pytest.mark.timeout(120)

E = TypeVar("E", bound=Exception)

MESSAGES = [{"role": "user", "content": "write a kernel"}]
KERNEL_REPLY = (
    "```python\nimport warp as wp\n\n@wp.kernel\ndef k(a: wp.array(dtype=float)):\n    i = wp.tid()\n```"
)


def make_client(server: OpenAIServer, budget: CallBudget | None = None, **overrides: object) -> ChatClient:
    settings: dict[str, object] = {
        "base_url": server.base_url,
        "model": DEFAULT_MODEL,
        "api_key": "sk-test",
        "timeout": 5.0,
        "max_retries": 3,
        "backoff_base": 0.01,  # keep jittered waits tiny in tests
        "backoff_max": 0.05,
    }
    settings.update(overrides)
    return ChatClient(LLMConfig(**settings), budget, rng=random.Random(0))  # type: ignore[arg-type]


def expect_failure(script: Script, error: type[E], **overrides: object) -> tuple[OpenAIServer, E]:
    """Run one request against ``script``; return the server and the ``error`` it raised."""
    with OpenAIServer(script) as server:
        try:
            make_client(server, **overrides).complete(MESSAGES)
        except error as exc:
            return server, exc
    raise AssertionError(f"expected {error.__name__}")


# --------------------------------------------------------------------------- success


def test_success_returns_text_usage_and_model() -> None:
    with OpenAIServer(always(Response.chat(KERNEL_REPLY, prompt_tokens=11, completion_tokens=7))) as server:
        client = make_client(server, temperature=0.3, max_tokens=256)
        reply = client.complete(MESSAGES)
    assert reply.text == KERNEL_REPLY
    assert (reply.prompt_tokens, reply.completion_tokens) == (11, 7)
    assert reply.model == DEFAULT_MODEL
    assert reply.finish_reason == "stop"
    assert reply.http_attempts == 1
    (request,) = server.chat_requests()
    assert request.body["model"] == DEFAULT_MODEL
    assert request.body["messages"] == MESSAGES
    assert request.body["temperature"] == 0.3
    assert request.body["max_tokens"] == 256
    assert request.headers["authorization"] == "Bearer sk-test"
    stats = client.stats
    assert (stats.requests, stats.succeeded, stats.http_attempts, stats.retries) == (1, 1, 1, 0)
    assert (stats.tokens_in, stats.tokens_out) == (11, 7)


def test_per_call_overrides_of_temperature_and_max_tokens() -> None:
    with OpenAIServer(always(Response.chat("x"))) as server:
        make_client(server).complete(MESSAGES, temperature=0.0, max_tokens=32)
    body = server.chat_requests()[0].body
    assert (body["temperature"], body["max_tokens"]) == (0.0, 32)


def test_models_endpoint_lists_the_served_model() -> None:
    with OpenAIServer(always(Response.chat("x"))) as server:
        sdk = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
        assert [m.id for m in sdk.models.list()] == [DEFAULT_MODEL]


# --------------------------------------------------------------------------- retries


def test_429_with_retry_after_waits_at_least_that_long_then_succeeds() -> None:
    script = sequence([Response.error(429, "slow down", headers={"Retry-After": "1"}), Response.chat("ok")])
    with OpenAIServer(script) as server:
        client = make_client(server)
        reply = client.complete(MESSAGES)
    first, second = server.chat_requests()
    assert reply.text == "ok" and reply.http_attempts == 2
    assert second.attempt_no == 2
    assert second.received_at - first.received_at >= 0.95  # jitter alone would wait <= 0.01 s
    assert client.stats.retries == 1 and client.stats.retry_wait_s >= 1.0


def test_retry_after_ms_is_preferred_and_honoured() -> None:
    headers = {"retry-after-ms": "300", "Retry-After": "30"}
    with OpenAIServer(sequence([Response.error(429, headers=headers), Response.chat("ok")])) as server:
        make_client(server).complete(MESSAGES)
    first, second = server.chat_requests()
    assert 0.28 <= second.received_at - first.received_at < 5


def test_500_then_success() -> None:
    with OpenAIServer(sequence([Response.error(500, "boom"), Response.chat("ok")])) as server:
        client = make_client(server)
        assert client.complete(MESSAGES).text == "ok"
    assert len(server.chat_requests()) == 2
    assert client.stats.retries == 1


@pytest.mark.parametrize("max_retries", [0, 2, 3])
def test_persistent_500_makes_exactly_one_plus_max_retries_attempts(max_retries: int) -> None:
    """One retry layer: the SDK's retries are off, so attempts == 1 + our max_retries."""
    with OpenAIServer(always(Response.error(500, "boom"))) as server:
        client = make_client(server, max_retries=max_retries)
        with pytest.raises(LLMRequestError) as info:
            client.complete(MESSAGES)
    assert len(server.chat_requests()) == 1 + max_retries
    assert info.value.reason == "server_error" and info.value.status == 500
    assert str(info.value) == f"LLM request failed after {1 + max_retries} attempt(s): HTTP 500: boom"
    stats = client.stats
    assert (stats.requests, stats.http_attempts, stats.retries, stats.failed) == (
        1,
        1 + max_retries,
        max_retries,
        1,
    )
    assert stats.failures == {"server_error": 1}


def test_503_and_502_are_retried_too() -> None:
    script = sequence([Response.error(503), Response.error(502), Response.chat("ok")])
    with OpenAIServer(script) as server:
        assert make_client(server).complete(MESSAGES).text == "ok"
    assert len(server.chat_requests()) == 3


def test_dropped_connection_is_retried() -> None:
    with OpenAIServer(sequence([Response.dropped(), Response.chat("ok")])) as server:
        client = make_client(server)
        assert client.complete(MESSAGES).text == "ok"
    assert len(server.chat_requests()) == 2


def test_persistent_dropped_connection_fails_with_reason_connection() -> None:
    with OpenAIServer(always(Response.dropped())) as server, pytest.raises(LLMRequestError) as info:
        make_client(server, max_retries=1).complete(MESSAGES)
    assert info.value.reason == "connection"
    assert len(server.chat_requests()) == 2


def test_timeout_is_retried() -> None:
    with OpenAIServer(by_attempt([Response.chat("late", delay_s=3.0), Response.chat("ok")])) as server:
        client = make_client(server, timeout=0.5)
        start = time.monotonic()
        reply = client.complete(MESSAGES)
        elapsed = time.monotonic() - start
    assert reply.text == "ok" and reply.http_attempts == 2
    assert elapsed < 2.5


def test_persistent_timeout_fails_with_reason_timeout() -> None:
    server, exc = expect_failure(
        always(Response.chat("late", delay_s=3.0)), LLMRequestError, timeout=0.3, max_retries=1
    )
    assert exc.reason == "timeout"
    assert len(server.chat_requests()) == 2


def test_full_jitter_waits_stay_within_exponential_windows() -> None:
    waits: list[float] = []
    with OpenAIServer(always(Response.error(500))) as server:
        config = LLMConfig(
            base_url=server.base_url, model=DEFAULT_MODEL, max_retries=4, backoff_base=1.0, backoff_max=4.0
        )
        client = ChatClient(config, sleep=waits.append, rng=random.Random(1))
        with pytest.raises(LLMRequestError):
            client.complete(MESSAGES)
    assert len(waits) == 4
    for wait, window in zip(waits, (1.0, 2.0, 4.0, 4.0), strict=True):
        assert 0.0 <= wait <= window


def test_retry_after_longer_than_the_cap_waits_the_cap() -> None:
    waits: list[float] = []
    script = sequence([Response.error(429, headers={"Retry-After": "100"}), Response.chat("ok")])
    with OpenAIServer(script) as server:
        config = LLMConfig(
            base_url=server.base_url, model=DEFAULT_MODEL, backoff_base=0.5, retry_after_cap=5.0
        )
        ChatClient(config, sleep=waits.append).complete(MESSAGES)
    assert waits == [5.0]


def test_retry_after_header_parsing() -> None:
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 < (retry_after_seconds({"retry-after": future}) or 0) <= 31


# --------------------------------------------------------------------------- fatal statuses


def test_401_is_fatal_after_one_attempt_with_a_clear_message() -> None:
    with OpenAIServer(always(Response.chat("x")), api_key="sk-right") as server:
        client = make_client(server, api_key="sk-wrong")
        with pytest.raises(LLMFatalError) as info:
            client.complete(MESSAGES)
    assert str(info.value) == (
        f"LLM endpoint {server.base_url} rejected the API key (401): set OPENAI_API_KEY or SYNTH_LLM_API_KEY"
    )
    assert info.value.status == 401
    assert len(server.chat_requests()) == 1


def test_404_unknown_model_is_fatal_after_one_attempt_with_a_clear_message() -> None:
    with OpenAIServer(always(Response.chat("x"))) as server:
        client = make_client(server, model="no-such-model")
        with pytest.raises(LLMFatalError) as info:
            client.complete(MESSAGES)
    assert str(info.value) == (
        f"model 'no-such-model' not found at {server.base_url} (404): check --model, and that "
        "--llm-base-url is the API root (it usually ends in /v1)"
    )
    assert info.value.detail == "The model `no-such-model` does not exist."
    assert len(server.chat_requests()) == 1


def test_400_is_fatal_and_carries_the_server_message() -> None:
    server, exc = expect_failure(always(Response.error(400, "max_tokens is too large")), LLMFatalError)
    assert str(exc) == f"LLM endpoint {server.base_url} rejected the request (400): max_tokens is too large"
    assert len(server.chat_requests()) == 1


def test_403_is_fatal() -> None:
    server, exc = expect_failure(always(Response.error(403, "no access")), LLMFatalError)
    assert str(exc) == (
        f"LLM endpoint {server.base_url} denied access to model '{DEFAULT_MODEL}' (403): "
        "check the API key's permissions"
    )
    assert len(server.chat_requests()) == 1


@pytest.mark.parametrize("status", [409, 422])
def test_other_4xx_fail_the_request_without_retry(status: int) -> None:
    server, exc = expect_failure(always(Response.error(status, "nope")), LLMRequestError)
    assert exc.reason == f"http_{status}"
    assert len(server.chat_requests()) == 1


def test_malformed_body_is_a_request_error() -> None:
    with (
        OpenAIServer(
            always(Response(body={"id": "x", "object": "chat.completion", "choices": []}))
        ) as server,
        pytest.raises(LLMRequestError) as info,
    ):
        make_client(server).complete(MESSAGES)
    assert info.value.reason == "bad_response"


# --------------------------------------------------------------------------- budget and concurrency


def test_call_budget_stops_further_calls_without_http_traffic() -> None:
    with OpenAIServer(always(Response.chat("ok"))) as server:
        budget = CallBudget(2)
        client = make_client(server, budget)
        client.complete(MESSAGES)
        client.complete(MESSAGES)
        with pytest.raises(LLMBudgetExhausted, match=r"^LLM call budget of 2 request\(s\) is spent$"):
            client.complete(MESSAGES)
    assert len(server.chat_requests()) == 2
    assert budget.exhausted and budget.used == 2 and budget.remaining == 0


def test_retries_do_not_consume_the_budget() -> None:
    script = sequence([Response.error(500), Response.chat("a"), Response.chat("b")])
    with OpenAIServer(script) as server:
        client = make_client(server, CallBudget(2))
        assert [client.complete(MESSAGES).text for _ in range(2)] == ["a", "b"]
    assert len(server.chat_requests()) == 3


def test_budget_is_exact_under_concurrency() -> None:
    budget = CallBudget(10)
    with OpenAIServer(always(Response.chat("ok", delay_s=0.05))) as server:
        client = make_client(server, budget)

        def call(_: int) -> str:
            try:
                return client.complete(MESSAGES).text
            except LLMBudgetExhausted:
                return "spent"

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(call, range(30)))
    assert results.count("ok") == 10 and results.count("spent") == 20
    assert len(server.chat_requests()) == 10


def test_sixteen_threads_overlap_one_second_replies() -> None:
    """The benchmark's building block: 1 s per reply, 16 in flight -> >= 8 replies/s."""
    with OpenAIServer(always(Response.chat(KERNEL_REPLY, delay_s=1.0))) as server:
        client = make_client(server)
        start = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            replies = list(pool.map(lambda _: client.complete(MESSAGES), range(32)))
        elapsed = time.monotonic() - start
    assert len(replies) == 32 and all(r.text == KERNEL_REPLY for r in replies)
    assert server.max_in_flight == 16
    assert 32 / elapsed >= 8.0
    assert client.stats.http_attempts == 32


def test_server_stop_interrupts_slow_replies() -> None:
    server = OpenAIServer(always(Response.chat("late", delay_s=30.0))).start()
    client = make_client(server, timeout=10.0, max_retries=0)
    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: _capture(errors, client))
    thread.start()
    time.sleep(0.3)
    start = time.monotonic()
    server.stop()
    thread.join(timeout=15)
    assert time.monotonic() - start < 5
    assert errors and isinstance(errors[0], LLMRequestError)


def _capture(errors: list[BaseException], client: ChatClient) -> None:
    try:
        client.complete(MESSAGES)
    except LLMRequestError as exc:
        errors.append(exc)


def test_stats_serialise_to_json() -> None:
    with OpenAIServer(sequence([Response.error(429), Response.chat("ok")])) as server:
        client = make_client(server)
        client.complete(MESSAGES)
    data = json.loads(json.dumps(client.stats.to_dict()))
    assert data["http_attempts"] == 2 and data["retries"] == 1 and data["requests"] == 1
