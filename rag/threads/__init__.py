"""Threads as conversations: who replied to whom, which messages ask and which answer, who gets credit.

- :mod:`rag.threads.structure` links each message to the one it replies to and marks its role
  (:func:`annotate`, run once at ingest for every thread source).
- :mod:`rag.threads.answer` turns a retrieved thread into answer quotes and credit at query time.
"""

from rag.threads.structure import DEFAULT_BOTS, annotate, asker_of, is_bot

__all__ = ["DEFAULT_BOTS", "annotate", "asker_of", "is_bot"]
