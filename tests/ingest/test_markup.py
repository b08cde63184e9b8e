"""Template markup of wiki exports is neither indexed nor quoted; markup documented in code is kept."""

from __future__ import annotations

from pathlib import Path

from ingest.markup import strip_front_matter, strip_template_markup
from ingest.pipeline import ingest
from rag.bm25 import bm25_tokens
from rag.config import Settings
from tests.ingest.helpers import stored_chunks, write

PAGE = """---
title: Rotating the Twilio token
authors: [Ben Carter]
---
# <%= current_page.data.title %>

{% include toc.html %}
Rotate the token every quarter {{ page.review_note }} in the vault.
{% comment %}
draft: mention the staging project
{% endcomment %}

The alert template reads `{{ $labels.namespace }}` and the model filter is:

```sql
{% if var('backfill_start', none) %}
  where _loaded_at >= '{{ var("backfill_start") }}'
{% endif %}
```
"""


def test_liquid_erb_removed_outside_code_kept_inside():
    out = strip_template_markup(PAGE.split("---\n", 2)[2])
    assert "current_page" not in out and "include toc" not in out and "page.review_note" not in out
    assert "staging project" not in out  # a Liquid comment is not content
    assert "Rotate the token every quarter" in out
    assert "`{{ $labels.namespace }}`" in out
    assert "{% if var('backfill_start', none) %}" in out and "{% endif %}" in out
    # line breaks kept, so line-level authorship stays aligned
    assert out.count("\n") == PAGE.split("---\n", 2)[2].count("\n")


def test_unparsed_front_matter_blanked_but_a_rule_and_prose_kept():
    assert strip_front_matter('+++\ntitle = "Deploys"\nweight = 3\n+++\nBody').strip() == "Body"
    assert strip_front_matter("---\nlayout: page\ntags:\n- ops\n---\nBody").strip() == "Body"
    prose = "---\nThis page starts with a rule, then prose.\n---\nBody"
    assert strip_front_matter(prose) == prose
    assert strip_template_markup("No markup here.") == "No markup here."


def test_ingested_pages_index_no_markup(tmp_path: Path):
    corpus = tmp_path / "corpus"
    write(corpus, "wiki/twilio.md", PAGE)
    write(corpus, "wiki/deploys.txt", "---\nlayout: runbook\npermalink: /deploys/\n---\n\nDeploys\n\n"
                                      "Deploy with the release train {% raw %}every Tuesday{% endraw %}.\n")
    settings = Settings(embedder="hashing", data_dir=tmp_path / "data")
    summary = ingest(corpus, settings)
    assert summary.failed == []
    chunks = stored_chunks(settings)
    words = {w for c in chunks for w in bm25_tokens(c.text)}
    for leaked in ("current_page", "endcomment", "toc", "permalink", "layout", "runbook", "endraw"):
        assert leaked not in words, leaked
    text = "\n".join(c.text for c in chunks)
    assert "every Tuesday" in text and "Rotate the token every quarter" in text
    assert "{{ var(\"backfill_start\") }}" in text  # the documented dbt macro survives
    assert {c.title for c in chunks} >= {"Rotating the Twilio token"}
