"""An OpenAI-compatible server (Ollama, vLLM, llama.cpp server) through llama-index's OpenAILike.

The extractive selector still picks the evidence; the LLM rewrites it into prose and must cite it
with [n]. Markers pointing at no source are dropped and reported in ``Draft.flagged``. Only the sources
the answer actually cites become citations, renumbered 1..n in order; an answer that cites nothing is
replaced by the extractive answer (flagged), so no uncited prose reaches the asker.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rag.config import Settings
from rag.errors import BackendUnavailable
from rag.generators.base import Draft, Quote
from rag.generators.extractive import ExtractiveGenerator
from rag.types import Hit

PROMPT = """Answer the question using ONLY the numbered sources below. After every sentence put the
number of the source it comes from in square brackets, like [1]. If the sources do not answer the
question, reply exactly: NOT COVERED.

{sources}

Question: {question}
Answer:"""

# A completion model (unlike a chat model) happily writes the next "Question:" itself: stop there.
STOP = ["\nQuestion:"]


def number_sources(quotes: list[Quote]) -> tuple[str, dict[int, str]]:
    """Sources block for the prompt, numbered by document in order of first use."""
    numbers: dict[str, int] = {}
    lines: dict[int, list[str]] = {}
    for q in quotes:
        n = numbers.setdefault(q.hit.chunk.doc_id, len(numbers) + 1)
        lines.setdefault(n, [f"[{n}] {q.hit.chunk.title}"]).append(q.text)
    block = "\n\n".join("\n".join(v) for v in lines.values())
    return block, {n: doc for doc, n in numbers.items()}


def check_markers(text: str, valid: set[int]) -> tuple[str, list[str]]:
    """Drop citation markers that point at no source; return the cleaned text and what was dropped."""
    flagged: list[str] = []

    def keep(m: re.Match[str]) -> str:
        if int(m.group(1)) in valid:
            return m.group(0)
        flagged.append(m.group(0))
        return ""

    cleaned = re.sub(r"\[(\d+)\]", keep, text)
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip(), flagged


def keep_cited(text: str, quotes: list[Quote], numbers: dict[int, str]) -> tuple[str, list[Quote]]:
    """Only the sources ``text`` cites, renumbered 1..n in their original order, and the text to match.

    ``numbers`` maps each prompt number to its document (see :func:`number_sources`); the engine numbers
    citations by document in order of first use among the quotes, so dropping uncited documents and
    renumbering the survivors by rank keeps every marker pointing at the same source.
    """
    cited = sorted({int(n) for n in re.findall(r"\[(\d+)\]", text)} & set(numbers))
    remap = {old: new for new, old in enumerate(cited, start=1)}
    docs = {numbers[n] for n in cited}
    renumbered = re.sub(r"\[(\d+)\]", lambda m: f"[{remap[int(m.group(1))]}]", text)
    return renumbered, [q for q in quotes if q.hit.chunk.doc_id in docs]


def draft_from_reply(text: str, quotes: list[Quote], numbers: dict[int, str], *,
                     fallback: Callable[[], Draft]) -> Draft:
    """Turn an LLM reply into a draft: NOT COVERED is empty, markers are checked, only cited sources kept.

    A reply that cites no valid source is not shown: ``fallback()`` (the extractive answer) replaces it,
    flagged ``llm-uncited``.
    """
    if "NOT COVERED" in text:
        return Draft(text="", quotes=[], flagged=["llm-not-covered"])
    cleaned, flagged = check_markers(text, set(numbers))
    cleaned, cited = keep_cited(cleaned, quotes, numbers)
    if not cited:
        draft = fallback()
        draft.flagged.extend([*flagged, "llm-uncited"])
        return draft
    return Draft(text=cleaned, quotes=cited, flagged=flagged)


class OpenAICompatGenerator:
    """LLM answers over the extractive selection, with checked [n] citations."""

    name = "openai"

    def __init__(self, settings: Settings, *, selector: ExtractiveGenerator) -> None:
        try:
            from llama_index.llms.openai_like import OpenAILike
        except ImportError as exc:
            raise BackendUnavailable(
                "The OpenAI-compatible generator needs an extra - install it with: pip install 'whoknows[openai]'"
            ) from exc
        self._llm = OpenAILike(model=settings.llm_model, api_base=settings.llm_base_url,
                               api_key=settings.llm_api_key, timeout=settings.llm_timeout_s, max_retries=0,
                               is_chat_model=False, context_window=4096, max_tokens=256, temperature=0.0)
        self._selector = selector

    def generate(self, question: str, hits: list[Hit], *, max_sentences: int = 4) -> Draft:
        """Ask the server; on a server error fall back to the extractive answer (flagged)."""
        quotes = self._selector.select(question, hits, max_sentences=max(max_sentences, 6))
        block, numbers = number_sources(quotes)
        try:
            text = self._llm.complete(PROMPT.format(sources=block, question=question), stop=STOP).text
        except Exception as exc:  # noqa: BLE001 - any transport failure: answer without the LLM
            draft = self._selector.generate(question, hits, max_sentences=max_sentences)
            draft.flagged.append(f"llm-error: {type(exc).__name__}")
            return draft
        return draft_from_reply(text, quotes, numbers,
                                fallback=lambda: self._selector.generate(question, hits, max_sentences=max_sentences))
