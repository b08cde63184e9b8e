"""A local GGUF model through llama-cpp-python (the ``llamacpp`` extra)."""

from __future__ import annotations

from rag.config import Settings
from rag.errors import BackendUnavailable, ConfigError
from rag.generators.base import Draft
from rag.generators.extractive import ExtractiveGenerator
from rag.generators.openai_compat import PROMPT, draft_from_reply, number_sources
from rag.types import Hit


class LlamaCppGenerator:
    """In-process llama.cpp over the extractive selection, with checked [n] citations."""

    name = "llamacpp"

    def __init__(self, settings: Settings, *, selector: ExtractiveGenerator) -> None:
        if settings.llm_model_path is None:
            raise ConfigError("Set WHOKNOWS_LLM_MODEL_PATH to a .gguf file to use the llamacpp generator")
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise BackendUnavailable(
                "The llamacpp generator needs an extra - install it with: pip install 'whoknows[llamacpp]'"
            ) from exc
        self._llm = Llama(model_path=str(settings.llm_model_path), n_ctx=4096, verbose=False)
        self._selector = selector

    def generate(self, question: str, hits: list[Hit], *, max_sentences: int = 4) -> Draft:
        """Complete the citation prompt locally."""
        quotes = self._selector.select(question, hits, max_sentences=max(max_sentences, 6))
        block, numbers = number_sources(quotes)
        out = self._llm(PROMPT.format(sources=block, question=question), max_tokens=256, temperature=0.0)
        return draft_from_reply(out["choices"][0]["text"], quotes, numbers,
                                fallback=lambda: self._selector.generate(question, hits, max_sentences=max_sentences))
