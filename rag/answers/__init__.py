"""What a question asks for, and whether a quote gives it.

- :mod:`rag.answers.types`: the expected answer type of a question (number, duration, version, date,
  place, person, polarity, list, steps) and a test of a quote for it near the question's focus terms.
- :mod:`rag.answers.focus`: the question's focus (rarest content terms, identifiers, proper nouns) and
  how much of it a set of quotes covers.
- :mod:`rag.answers.parts`: two-part questions split into their parts.
"""
