"""Generated corpora for the query benchmarks at 1k, 10k and 100k chunks.

Embedding runs at ~15-20 chunks/s on 2 cores, so only the first ``real`` chunks of a size get real MiniLM
vectors, through the full ingest pipeline (``whoknows ingest`` of generated Markdown pages). The rest are
*derived*: new generated text, and as its vector a perturbed copy of a real chunk's vector (cosine ~0.9 to
its source), written straight through the store seam and recorded in the ingest ledger like any document.
Derived chunks exercise the same index, filters, BM25 and answer path; their vectors are not embeddings
of their own text, so they measure speed, not quality.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import time
from collections import Counter
from pathlib import Path

import numpy as np

from ingest.manifest import DocRecord, Manifest
from ingest.pipeline import ingest
from rag.config import Settings
from rag.embeddings import make_embedder
from rag.stores import open_store
from rag.types import Chunk, Kind, stable_hash

SECTIONS_PER_PAGE = 5
WORDS_PER_SECTION = 100  # ~150-190 MiniLM tokens: one section, one chunk
NOISE = 0.025  # per-dimension sd of the perturbation: cosine ~0.9 to the real vector in 384 dims
_SYLLABLES = ("ka lo mi ra ten vus bor dri pel sa no quin tar fe zo lum gri hal ve cor nit sem ba "
              "pra dul mos ti rek").split()
_NAMES = ["Ann Lee", "Bob Stone", "Carla Diaz", "Dan Wu", "Eve Moss", "Femi Ade", "Gus Holm", "Hana Ito",
          "Ivan Petrov", "Jonas Berg", "Kira Shah", "Liam Roy"]
_TEMPLATES = ["How do we handle {a} {b} in {c}?", "Who knows about {a} and {b}?", "What is the {a} policy for {b}?",
              "Why did the {a} {b} fail during {c}?", "Where is the runbook for {a} {b}?"]


class Vocabulary:
    """Words of the sample corpus plus generated terms, drawn with a Zipf-like law (as real text is)."""

    def __init__(self, sample: Path | None, *, size: int = 20_000, seed: int = 0) -> None:
        rnd = random.Random(seed)
        counts: Counter[str] = Counter()
        if sample is not None and sample.is_dir():
            for f in sorted(sample.rglob("*.md")):
                counts.update(re.findall(r"[a-z]{3,14}", f.read_text(errors="replace").lower()))
        # Real words by their real frequency first, then generated terms for the long tail (names, jargon).
        words = [w for w, _ in counts.most_common()]
        seen = set(words)
        while len(words) < size:
            w = "".join(rnd.choice(_SYLLABLES) for _ in range(rnd.randint(2, 3)))
            if w not in seen:
                seen.add(w)
                words.append(w)
        self.words = words[:size]
        ranks = np.arange(1, len(self.words) + 1, dtype=np.float64)
        self._p = (1.0 / ranks**1.05) / np.sum(1.0 / ranks**1.05)

    def text(self, rng: np.random.Generator, n: int) -> str:
        """``n`` words as sentences of 8-20 words."""
        picked = [self.words[i] for i in rng.choice(len(self.words), size=n, p=self._p)]
        out, i = [], 0
        while i < len(picked):
            step = int(rng.integers(8, 21))
            sentence = " ".join(picked[i:i + step])
            out.append(sentence[:1].upper() + sentence[1:] + ".")
            i += step
        return " ".join(out)


def write_pages(root: Path, vocab: Vocabulary, *, pages: int, seed: int) -> None:
    """``pages`` Markdown pages with front matter, ``SECTIONS_PER_PAGE`` sections each."""
    rng = np.random.default_rng(seed)
    for p in range(pages):
        title = vocab.text(rng, 3).rstrip(".")
        author = _NAMES[p % len(_NAMES)]
        sections = "".join(f"## {vocab.text(rng, 2).rstrip('.')}\n\n{vocab.text(rng, WORDS_PER_SECTION)}\n\n"
                           for _ in range(SECTIONS_PER_PAGE))
        date = f"20{21 + p % 4}-{1 + p % 12:02d}-{1 + p % 28:02d}"
        path = root / "wiki" / f"page-{p:06d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\ntitle: {title}\nauthors: [{author}]\ndate: {date}\n---\n# {title}\n\n{sections}")


def questions(vocab: Vocabulary, n: int, *, seed: int = 1) -> list[str]:
    """Questions in the corpus's vocabulary (mid-frequency words, as people ask about topics)."""
    rnd = random.Random(seed)
    mid = vocab.words[200:5000]
    return [rnd.choice(_TEMPLATES).format(a=rnd.choice(mid), b=rnd.choice(mid), c=rnd.choice(mid))
            for _ in range(n)]


def scale_settings(size: int, *, real: int, cache: Path, base: Settings) -> Settings:
    """Where the store of this size lives (reused across runs: building 100k takes minutes)."""
    return base.model_copy(update={"data_dir": cache / f"scale-{size}-real{real}-{base.embedder}"})


def build(size: int, *, real: int, settings: Settings, sample: Path | None, seed: int = 0) -> dict:
    """Build (or reuse) the store of ``size`` chunks; returns what was built and how long it took."""
    done = settings.data_dir / "built.json"
    if done.exists():
        return dict(json.loads(done.read_text()), reused=True)
    real = min(real, size)
    vocab = Vocabulary(sample, seed=seed)
    corpus = settings.data_dir / "corpus"
    smaller = scale_settings(real, real=real, cache=settings.data_dir.parent, base=settings)
    t0 = time.perf_counter()
    if size > real and (smaller.data_dir / "built.json").exists():
        # The real part is the same for every size: start from the store of that size (its corpus and ledger
        # included) instead of embedding it again.
        shutil.copytree(smaller.data_dir, settings.data_dir)
        (settings.data_dir / "built.json").unlink()
        summary = json.loads((smaller.data_dir / "built.json").read_text())
        real_chunks, t_real = int(summary["real_chunks"]), float(summary["real_ingest_s"])
    else:
        write_pages(corpus, vocab, pages=max(1, real // SECTIONS_PER_PAGE), seed=seed)
        real_chunks = ingest(corpus, settings).chunks
        t_real = time.perf_counter() - t0
    store = open_store(settings, make_embedder(settings))
    t1 = time.perf_counter()
    derived = _derive(store, settings, vocab, n=size - store.count(), root=f"{corpus.resolve()}#derived", seed=seed)
    info = {"size": store.count(), "real_chunks": real_chunks, "derived_chunks": derived,
            "real_ingest_s": round(t_real, 1), "derive_s": round(time.perf_counter() - t1, 1),
            "embedder": settings.embedder}
    done.write_text(json.dumps(info))
    return info


def _derive(store, settings: Settings, vocab: Vocabulary, *, n: int, root: str, seed: int) -> int:  # type: ignore[no-untyped-def]
    """Write ``n`` derived chunks (perturbed copies of real vectors, new text) through the seam + ledger."""
    if n <= 0:
        return 0
    real = list(store.iter_chunks())
    real_vecs = store.vectors([c.chunk_id for c in real])
    base = np.stack([real_vecs[c.chunk_id] for c in real])
    rng = np.random.default_rng(seed + 1)
    manifest = Manifest(settings.manifest_path)
    kinds: tuple[Kind, ...] = ("wiki", "retro", "thread")
    written = 0
    try:
        while written < n:
            m = min(1000, n - written)
            chunks, recs = [], []
            for d in range(0, m, SECTIONS_PER_PAGE):
                k = (written + d) // SECTIONS_PER_PAGE
                doc_id = stable_hash("derived", str(k))
                source = f"derived/page-{k:06d}.md"
                title = vocab.text(rng, 3).rstrip(".")
                kind = kinds[k % 3]
                ids = []
                for i in range(min(SECTIONS_PER_PAGE, m - d)):
                    cid = f"{doc_id}-{i:04d}"
                    ids.append(cid)
                    chunks.append(Chunk(chunk_id=cid, doc_id=doc_id, index=i, text=vocab.text(rng, WORDS_PER_SECTION),
                                        section=vocab.text(rng, 2).rstrip("."), title=title, kind=kind, source=source,
                                        paths=(source,), authors=(_NAMES[k % 12],), doc_authors=(_NAMES[k % 12],),
                                        date=f"20{21 + k % 4}-{1 + k % 12:02d}-{1 + k % 28:02d}",
                                        channel="ops" if kind == "thread" else None, content_hash=doc_id))
                recs.append(DocRecord(doc_id, f"derived:{k}", source, [source], "derived", doc_id, "pending", ids,
                                      kind, title))
            src = base[(written + np.arange(len(chunks))) % len(base)]
            vecs = src + rng.normal(0.0, NOISE, size=src.shape).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            manifest.mark_pending(root, recs)
            store.upsert(chunks, vecs.astype(np.float32))
            manifest.mark_done([r.doc_id for r in recs])
            written += len(chunks)
    finally:
        manifest.close()
    return written
