"""The OpenAI-compatible generator against a server speaking the real protocol over a real socket.

The server is a stand-in for a hosted/self-hosted LLM (something outside this machine): it answers
the OpenAI ``/v1/completions`` wire format, records the prompts it received, and can be told to stall.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rag.config import Settings
from rag.engine import QueryEngine
from rag.generators.extractive import ExtractiveGenerator
from rag.generators.openai_compat import OpenAICompatGenerator, check_markers
from rag.types import Chunk, Hit

pytest.importorskip("llama_index.llms.openai_like")


DEFAULT_REPLY = "Deploys freeze on Fridays after 14:00 UTC [1]. Jonas knew the batch [7]."


class _LLM(BaseHTTPRequestHandler):
    reply = DEFAULT_REPLY
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
    _LLM.prompts, _LLM.delay, _LLM.reply = [], 0.0, DEFAULT_REPLY  # each test starts from the defaults
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _LLM)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def _generator(server: str, llm_timeout_s: float = 10) -> OpenAICompatGenerator:
    return OpenAICompatGenerator(Settings(generator="openai", llm_base_url=server, llm_timeout_s=llm_timeout_s),
                                 selector=ExtractiveGenerator(lambda t: 1.0))


def _hits() -> list[Hit]:
    chunk = Chunk(chunk_id="c1", doc_id="d1", index=0, title="Deploy freeze", kind="wiki", source="wiki/freeze.md",
                  text="We freeze deploys on Fridays after 14:00 UTC. The freeze was decided after the March outage.",
                  authors=("Maya Okafor",), doc_authors=("Maya Okafor",))
    return [Hit(chunk=chunk, score=1.0, dense_rank=1)]


def test_llm_answer_keeps_valid_markers_and_drops_dangling_ones(server: str) -> None:
    gen = _generator(server)
    draft = gen.generate("When is the deploy freeze?", _hits())
    assert "[1]" in draft.text and "[7]" not in draft.text
    assert draft.flagged == ["[7]"]
    assert draft.quotes and draft.quotes[0].hit.chunk.doc_id == "d1"
    prompt = _LLM.prompts[0]
    assert "[1] Deploy freeze" in prompt and "Question: When is the deploy freeze?" in prompt


def test_llm_timeout_falls_back_to_the_extractive_answer(server: str) -> None:
    # The server would answer after 30 s; getting the fallback at all proves the 0.5 s timeout fired.
    _LLM.delay = 30.0
    gen = _generator(server, llm_timeout_s=0.5)
    draft = gen.generate("When is the deploy freeze?", _hits())
    assert draft.flagged and draft.flagged[0].startswith("llm-error"), draft.flagged
    assert "[1]" in draft.text and "Fridays" in draft.text  # extractive fallback, still cited


def test_not_covered_reply_yields_an_empty_draft(server: str) -> None:
    _LLM.reply = "NOT COVERED"
    gen = _generator(server)
    assert gen.generate("Who won the office chess cup?", _hits()).text == ""


def _two_docs() -> list[Hit]:
    freeze = _hits()[0]
    rollback = Chunk(chunk_id="c2", doc_id="d2", index=0, title="Rollback runbook", kind="wiki",
                     source="wiki/rollback.md", text="Roll back a deploy with helm rollback and the previous revision.",
                     authors=("Ann Lee",), doc_authors=("Ann Lee",))
    return [freeze, Hit(chunk=rollback, score=0.9, dense_rank=2)]


def test_only_the_sources_the_llm_cites_are_kept_and_renumbered(server: str) -> None:
    gen = _generator(server)
    _LLM.reply = "Use helm rollback with the previous revision [2]."
    draft = gen.generate("How do I roll back a deploy during the freeze?", _two_docs())
    prompt = _LLM.prompts[0]
    assert "[1] Deploy freeze" in prompt and "[2] Rollback runbook" in prompt, "both sources were offered"
    assert draft.text == "Use helm rollback with the previous revision [1]."
    assert {q.hit.chunk.doc_id for q in draft.quotes} == {"d2"}, "the uncited freeze page is not a citation"


def test_an_llm_answer_citing_nothing_is_replaced_by_the_extractive_one(server: str) -> None:
    gen = _generator(server)
    _LLM.reply = "Deploys freeze on Fridays, as everybody knows [9]."
    draft = gen.generate("When is the deploy freeze?", _hits())
    assert draft.flagged == ["[9]", "llm-uncited"]
    assert "as everybody knows" not in draft.text and "[1]" in draft.text and draft.quotes


def test_engine_citations_follow_the_llm_markers(server: str, sample_settings: Settings,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """Through the real engine on the sample store: each [n] in the answer is citation n, and nothing else."""
    engine = QueryEngine(sample_settings.model_copy(update={"generator": "openai", "llm_base_url": server,
                                                            "llm_timeout_s": 10, "query_log": "off"}))
    _LLM.reply = "See the severity table [2]. [42]"
    with caplog.at_level(logging.WARNING, logger="rag.engine"):
        answer = engine.ask("What are the incident severity levels?")
    offered = dict(re.findall(r"^\[(\d+)\] (.+)$", _LLM.prompts[0], flags=re.M))
    assert len(offered) >= 2, "the stand-in must have been offered two sources to cite only the second"
    assert not answer.abstained
    assert answer.answer.endswith("See the severity table [1].")
    assert [(c.n, c.title) for c in answer.citations] == [(1, offered["2"])]
    assert "openai generator flagged: [42]" in caplog.text, "a dropped marker is visible to the operator"


def test_check_markers() -> None:
    assert check_markers("A [1]. B [2]. C [3].", {1, 3}) == ("A [1]. B . C [3].", ["[2]"])
