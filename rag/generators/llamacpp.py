"""A local GGUF model through llama-cpp-python (the ``llamacpp`` extra)."""

from __future__ import annotations

from typing import Any, cast

from rag.config import Settings
from rag.errors import BackendUnavailable, ConfigError
from rag.generators.base import Draft
from rag.generators.extractive import ExtractiveGenerator
from rag.generators.openai_compat import PROMPT, STOP, draft_from_reply, number_sources
from rag.types import Hit


class LlamaCppGenerator:
    """In-process llama.cpp over the extractive selection, with checked [n] citations."""

    name = "llamacpp"

    def __init__(self, settings: Settings, *, selector: ExtractiveGenerator) -> None:
        if settings.llm_model_path is None:
            raise ConfigError("Set WHOKNOWS_LLM_MODEL_PATH to a .gguf file to use the llamacpp generator")
        if not settings.llm_model_path.is_file():
            raise ConfigError(f"WHOKNOWS_LLM_MODEL_PATH {settings.llm_model_path} is not a file")
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise BackendUnavailable(
                "The llamacpp generator needs an extra - install it with: pip install 'whoknows[llamacpp]'"
            ) from exc
        self._llm = Llama(model_path=str(settings.llm_model_path), n_ctx=4096, verbose=False)
        self._selector = selector

    def generate(self, question: str, hits: list[Hit], *, max_sentences: int = 4) -> Draft:
        """Complete the citation prompt locally; if llama.cpp fails, answer extractively (flagged)."""
        quotes = self._selector.select(question, hits, max_sentences=max(max_sentences, 6))
        block, numbers = number_sources(quotes)
        try:
            out = cast("dict[str, Any]", self._llm.create_completion(
                PROMPT.format(sources=block, question=question), max_tokens=256, temperature=0.0, stop=STOP))
            text = str(out["choices"][0]["text"])
        except Exception as exc:  # noqa: BLE001 - e.g. a prompt over the context window: answer without the LLM
            draft = self._selector.generate(question, hits, max_sentences=max_sentences)
            draft.flagged.append(f"llm-error: {type(exc).__name__}")
            return draft
        return draft_from_reply(text, quotes, numbers,
                                fallback=lambda: self._selector.generate(question, hits, max_sentences=max_sentences))
