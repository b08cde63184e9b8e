"""The OpenAI-compatible generator against a server speaking the real protocol over a real socket.

The server is a stand-in for a hosted/self-hosted LLM (something outside this machine): it answers
the OpenAI ``/v1/completions`` wire format, records the prompts it received, and can be told to stall.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rag.config import Settings
from rag.generators.extractive import ExtractiveGenerator
from rag.generators.openai_compat import OpenAICompatGenerator, check_markers
from rag.types import Chunk, Hit

pytest.importorskip("llama_index.llms.openai_like")


class _LLM(BaseHTTPRequestHandler):
    reply = "Deploys freeze on Fridays after 14:00 UTC [1]. Jonas knew the batch [7]."
    delay = 0.0
    prompts: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        type(self).prompts.append(body.get("prompt") or json.dumps(body.get("messages")))
        time.sleep(type(self).delay)
        out = {"id": "cmpl-1", "object": "text_completion", "created": int(time.time()), "model": body["model"],
               "choices": [{"text": type(self).reply, "index": 0, "finish_reason": "stop", "logprobs": None}],
               "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}}
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except BrokenPipeError:
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[str]:
    _LLM.prompts, _LLM.delay = [], 0.0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _LLM)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def _hits() -> list[Hit]:
    chunk = Chunk(chunk_id="c1", doc_id="d1", index=0, title="Deploy freeze", kind="wiki", source="wiki/freeze.md",
                  text="We freeze deploys on Fridays after 14:00 UTC. The freeze was decided after the March outage.",
                  authors=("Maya Okafor",), doc_authors=("Maya Okafor",))
    return [Hit(chunk=chunk, score=1.0, dense_rank=1)]


def test_llm_answer_keeps_valid_markers_and_drops_dangling_ones(server: str) -> None:
    gen = OpenAICompatGenerator(Settings(generator="openai", llm_base_url=server, llm_timeout_s=10),
                                selector=ExtractiveGenerator(lambda t: 1.0))
    draft = gen.generate("When is the deploy freeze?", _hits())
    assert "[1]" in draft.text and "[7]" not in draft.text
    assert draft.flagged == ["[7]"]
    assert draft.quotes and draft.quotes[0].hit.chunk.doc_id == "d1"
    prompt = _LLM.prompts[0]
    assert "[1] Deploy freeze" in prompt and "Question: When is the deploy freeze?" in prompt


def test_llm_timeout_falls_back_to_the_extractive_answer(server: str) -> None:
    _LLM.delay = 3.0
    gen = OpenAICompatGenerator(Settings(generator="openai", llm_base_url=server, llm_timeout_s=0.5),
                                selector=ExtractiveGenerator(lambda t: 1.0))
    t0 = time.perf_counter()
    draft = gen.generate("When is the deploy freeze?", _hits())
    assert time.perf_counter() - t0 < 2.5, "the timeout setting bounds the wait"
    assert draft.flagged and draft.flagged[0].startswith("llm-error")
    assert "[1]" in draft.text and "Fridays" in draft.text  # extractive fallback, still cited


def test_not_covered_reply_yields_an_empty_draft(server: str) -> None:
    _LLM.reply = "NOT COVERED"
    try:
        gen = OpenAICompatGenerator(Settings(generator="openai", llm_base_url=server),
                                    selector=ExtractiveGenerator(lambda t: 1.0))
        assert gen.generate("Who won the office chess cup?", _hits()).text == ""
    finally:
        _LLM.reply = "Deploys freeze on Fridays after 14:00 UTC [1]. Jonas knew the batch [7]."


def test_check_markers() -> None:
    assert check_markers("A [1]. B [2]. C [3].", {1, 3}) == ("A [1]. B . C [3].", ["[2]"])
