"""Answer generators behind one seam; ``make_generator`` picks one from settings."""

from __future__ import annotations

from collections.abc import Callable

from rag.config import Settings
from rag.generators.base import Draft, Generator, Quote


def make_generator(settings: Settings, *, idf: Callable[[str], float]) -> Generator:
    """The configured generator. Optional backends name the pip extra that installs them."""
    from rag.generators.extractive import ExtractiveGenerator

    extractive = ExtractiveGenerator(idf, max_thread_replies=settings.max_thread_replies)
    if settings.generator == "extractive":
        return extractive
    if settings.generator == "openai":
        from rag.generators.openai_compat import OpenAICompatGenerator

        return OpenAICompatGenerator(settings, selector=extractive)
    from rag.generators.llamacpp import LlamaCppGenerator

    return LlamaCppGenerator(settings, selector=extractive)


__all__ = ["Draft", "Generator", "Quote", "make_generator"]
