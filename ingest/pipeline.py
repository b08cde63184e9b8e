"""The ingest job: discover -> load -> de-duplicate -> chunk -> embed what is new -> store -> ledger."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from ingest.access import AccessRules, slack_memberships
from ingest.authors import GitHistory, load_sidecar
from ingest.context import Failure, LoadContext, LoadResult, scrub_document
from ingest.discover import Unit, discover
from ingest.heap import return_freed_memory
from ingest.ids import document_id
from ingest.loaders.email import load_email
from ingest.loaders.registry import load_file
from ingest.loaders.slack import load_slack_export
from ingest.lock import ingest_lock
from ingest.manifest import DocRecord, open_manifest
from ingest.outcomes import FileCounts, Outcome, account, counts, with_aliases
from ingest.roots import rekey_root, stale
from rag.access import Memberships
from rag.config import Settings
from rag.embeddings import make_embedder
from rag.embeddings.base import Embedder
from rag.errors import BadInput, ConfigError, ParseError, WhoknowsError
from rag.people import PeopleDirectory, load_people, save_people
from rag.stores import open_store
from rag.stores.base import VectorStore
from rag.text import embed_text
from rag.types import Chunk, Document, stable_hash

# Bump when a change to loading, chunking, authorship or access rules changes what a document becomes:
# the next ingest then re-reads every document of an existing store (the vectors of passages whose text
# did not change are reused, so it costs parsing, not embedding). Part of every unit's and document's
# version, so stores written by older code do not silently keep their old chunks.
# .2: thread roles, markup stripped; .3: PDF Info, DOCX dates, paths; .4: bot posts; .5: long messages keep id, role
# 2026-12-02.3: a lost character ("I?aki") or a signature is no question mark; a mail post's author answers the list
PIPELINE_VERSION = "2026-12-02.3"

Progress = Callable[[str, int, int], None]
# Chunks embedded and upserted at a time: a document of tens of thousands of chunks (a 50 MB text) never holds
# all its texts and vectors in memory at once, and the memory an embedding call frees goes back to the OS after
# each slice (ingest/heap.py). Measured on a 13 MB single-line text with MiniLM: peak RSS 1.60 GB with slices of
# 1,024, 1.41 GB with 256 (1.81 GB before either).
EMBED_SLICE = 256


class FailedFile(BaseModel):
    path: str
    reason: str


class SkippedFile(BaseModel):
    path: str
    reason: str


class DuplicatePath(BaseModel):
    path: str
    of: str


class IngestSummary(BaseModel):
    """What one ingest run did. ``failed`` lists every file that did not land, with the reason."""

    root: str
    documents: int = 0
    chunks: int = 0
    by_kind: dict[str, int] = {}
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    deleted: int = 0
    rekeyed: int = 0  # documents of a store written before corpus-root ids, moved onto them (nothing embedded)
    duplicates: int = 0
    embedded: int = 0
    reused_vectors: int = 0
    failed: list[FailedFile] = []
    skipped: list[SkippedFile] = []
    duplicate_paths: list[DuplicatePath] = []
    files: FileCounts = FileCounts()
    # Every path under the root -> its one outcome (stored/unchanged/duplicate/skipped/failed); not in the JSON.
    outcomes: dict[str, Outcome] = Field(default={}, exclude=True)
    seconds: float = 0.0


def _dup_key(doc: Document) -> str:
    # Title and authors are part of "the same content": two stub pages with one template body but their own
    # front matter are two documents, or the second page's title and author would vanish.
    # Access too: a public and a restricted copy of one page stay two documents, each with its own groups.
    return stable_hash(doc.kind, doc.title, "|".join(doc.authors), "|".join(doc.access), doc.text,
                       *[f"{m.author}\x01{m.text}" for m in doc.messages], length=24)


def ingest(path: Path, settings: Settings, *, progress: Progress | None = None,
           embedder: Embedder | None = None) -> IngestSummary:
    """Bring the store in line with the folder ``path``: add new, replace changed, delete removed."""
    root = path.resolve()
    if not root.is_dir():
        raise BadInput(f"{path} is not a folder - give `whoknows ingest` the corpus folder", field="path")
    t0 = time.perf_counter()
    with ingest_lock(settings):
        run = _Run(root, settings, progress, embedder)
        try:
            return run.run(t0)
        finally:
            # Closed here, whatever happened: a ledger connection left to the garbage collector (sqlite3
            # connections sit in a reference cycle) checkpoints the ledger whenever it is collected.
            run.manifest.close()


class _Run:
    def __init__(self, root: Path, settings: Settings, progress: Progress | None, embedder: Embedder | None):
        self.root, self.settings = root, settings
        self.progress = progress or (lambda stage, done, total: None)
        self._embedder = embedder
        self.summary = IngestSummary(root=str(root))
        self._people_read = False
        self.people = self._people()
        self.failures: list[Failure] = []
        self._written: set[str] = set()  # primary sources of the documents stored (added or replaced) by this run
        self._unit_failed: set[str] = set()  # units with a file that did not land: read again next run
        try:
            sidecar = load_sidecar(root)
        except BadInput as exc:
            self.failures.append(Failure("AUTHORS.json", str(exc)))
            sidecar = {}
        git = GitHistory(root, bulk_files=settings.git_bulk_commit_files)
        # A broken access.yaml raises here, before anything is written: guessing would publish private pages.
        rules = AccessRules.load(root, default=settings.default_access)
        self.ctx = LoadContext(root=root, people=self.people, sidecar=sidecar, git=git,
                               default_access=settings.default_access, access_rules=rules, bots=settings.bots)
        extra = [(root / n).read_bytes() for n in ("people.yaml", "AUTHORS.json", "access.yaml")
                 if (root / n).exists()]
        self.context_sig = hashlib.sha256(b"\x00".join([*extra, git.head.encode(),
                                                        settings.default_access.encode(),
                                                        "|".join(settings.bots).encode()])).hexdigest()
        self.version_salt = f"{PIPELINE_VERSION}:{settings.chunk_tokens}:{settings.chunk_overlap}:{settings.embedder}"
        # Opened last: nothing above may fail with the ledger open (ingest() closes it after the run).
        self.manifest = open_manifest(settings)
        self.root_id = self.manifest.root_id(str(root))  # part of every document id of this corpus

    def _people(self) -> PeopleDirectory:
        for name in ("people.yaml", "people.yml"):
            p = self.root / name
            if p.exists():
                people = PeopleDirectory.load(p)
                save_people(self.settings, people)
                self._people_read = True
                return people
        return load_people(self.settings)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings)
        return self._embedder

    def _store(self) -> VectorStore:
        # The store must know the embedder's name; for the hashing/MiniLM pair that is static.
        if not hasattr(self, "_store_obj"):
            self._store_obj = open_store(self.settings, self.embedder)
        return self._store_obj

    # -- loading ---------------------------------------------------------------------------
    def _load(self, unit: Unit) -> LoadResult:
        res = self._load_unit(unit)
        res.failures += self.ctx.take_problems()  # stored, but not as declared (e.g. a refused access)
        res.documents = with_aliases([scrub_document(d) for d in res.documents], unit.aliases)
        return res

    def _load_unit(self, unit: Unit) -> LoadResult:
        try:
            if unit.kind == "slack":
                assert unit.root_path is not None
                return load_slack_export(self.ctx, unit.root_path)
            if unit.kind == "email":
                return load_email(self.ctx, unit.files)
            return load_file(self.ctx, kind=unit.kind, file=unit.files[0])
        except (ParseError, WhoknowsError) as exc:
            return LoadResult(failures=[Failure(unit.key, str(exc))])
        except Exception as exc:  # noqa: BLE001 - one unreadable file must not stop the run; it is reported
            what = "nested too deeply to parse" if isinstance(exc, RecursionError) else str(exc)[:300]
            return LoadResult(failures=[Failure(unit.key, f"{type(exc).__name__}: {what}")])

    def run(self, t0: float) -> IngestSummary:
        rootkey = str(self.root)
        if stale(self.manifest, rootkey, self.root_id):
            self.summary.rekeyed = rekey_root(self.manifest, self._store(), self.settings, root=rootkey,
                                              rid=self.root_id)
        self._reconcile(rootkey)
        found = discover(self.root, max_file_bytes=self.settings.max_file_bytes, include=self.settings.include,
                         exclude=self.settings.exclude,
                         unpack_dir=self.settings.data_dir / "unpacked" / stable_hash(rootkey))
        units = found.units
        self.ctx.mounts.update(found.mounts)
        self.ctx.refused.update(found.refused)
        for repo in found.repos:
            self.ctx.nested_git[repo] = GitHistory(repo, bulk_files=self.settings.git_bulk_commit_files)
        heads = "".join(g.head for g in self.ctx.nested_git.values())  # a new commit there may change authors
        self.failures += [Failure(p, why) for p, why in found.failed]
        self._save_memberships(units)
        known_units = self.manifest.units(rootkey)
        known_docs = self.manifest.docs(rootkey)
        by_source = {p: d for d in known_docs.values() for p in d.paths}
        sigs = {u.key: u.signature(self.context_sig + heads + self.version_salt) for u in units}
        loaded: dict[str, list[Document]] = {}
        kept: dict[str, list[DocRecord]] = {}  # unchanged units -> their records
        same_sig = {u.key for u in units if u.key in known_units and known_units[u.key][0] == sigs[u.key]}
        unit_of = {s: k for k, (_, srcs) in known_units.items() for s in srcs}

        def reusable(r: DocRecord | None) -> bool:
            # A stored duplicate is reusable only while every path it claims is unchanged too;
            # otherwise its paths (and maybe its primary source) are stale and it must be rebuilt.
            return r is not None and r.state == "done" and all(unit_of.get(p) in same_sig for p in r.paths)

        for i, unit in enumerate(units):
            self.progress("read", i, len(units))
            prev = known_units.get(unit.key)
            recs = [by_source.get(s) for s in prev[1]] if prev else []
            if unit.key in same_sig and all(reusable(r) for r in recs):
                kept[unit.key] = [r for r in recs if r is not None]
                continue
            res = self._load(unit)
            loaded[unit.key] = res.documents
            if res.failures:
                self._unit_failed.add(unit.key)
                self.failures += res.failures
        self.progress("read", len(units), len(units))
        desired = self._dedupe(loaded, kept)
        self._write(rootkey, desired, known_docs)
        # Units whose every file landed get their signature recorded, so next run skips them.
        produced: dict[str, list[str]] = {}
        for key, docs in loaded.items():
            produced[key] = [d.source for d in docs]
        for key, kept_recs in kept.items():
            produced[key] = [s for r in kept_recs for s in r.paths if s in set(known_units[key][1])]
        self.manifest.set_units(rootkey, {k: (sigs[k] if k not in self._unit_failed else "failed", v)
                                          for k, v in produced.items()}, drop_others=True)
        self.summary.failed = [FailedFile(path=f.path, reason=f.reason) for f in self.failures]
        self.summary.skipped = [SkippedFile(path=p, reason=why) for p, why in found.skipped]
        primary_of = {p: item.source for _, item in desired.values() for p in item.paths}
        self.summary.duplicate_paths = [DuplicatePath(path=p, of=of) for p, of in sorted(primary_of.items())
                                        if p != of] + [DuplicatePath(path=p, of=primary_of.get(of, of))
                                                       for p, of in found.duplicates if p not in primary_of]
        self.summary.outcomes = account(found, failures=self.failures, loaded=loaded, kept=kept,
                                        written=self._written, primaries={i.source for _, i in desired.values()})
        self.summary.files = counts(self.summary.outcomes)
        self.summary.seconds = round(time.perf_counter() - t0, 3)
        if self._people_read:
            save_people(self.settings, self.people)  # again: a first Postgres ingest has only now made the tables
        return self.summary

    def _reconcile(self, rootkey: str) -> None:
        """Documents the ledger calls done but whose chunks the store lost (a store directory moved aside,
        a wiped Chroma server) are marked pending, so this run writes them again instead of skipping them."""
        docs = self.manifest.docs(rootkey)
        if not docs:
            return
        store = self._store()
        expected = sum(len(d.chunk_ids) for d in self.manifest.all_docs() if d.state == "done")
        if store.count() >= expected:  # the cheap, usual case: one count, no id scan
            return
        done = [d for d in docs.values() if d.state == "done"]
        ids = [c for d in done for c in d.chunk_ids]
        present: set[str] = set()
        for i in range(0, len(ids), 1000):
            present.update(c.chunk_id for c in store.get(ids=ids[i:i + 1000]))
        lost = [d.doc_id for d in done if not present.issuperset(d.chunk_ids)]
        self.manifest.mark_pending_again(lost)

    def _save_memberships(self, units: list[Unit]) -> None:
        """Who belongs to each source group (Slack private channels), for resolving a caller's groups."""
        found = Memberships()
        for unit in units:
            if unit.kind == "slack" and unit.root_path is not None:
                found = found.merge(slack_memberships(unit.root_path, self.people))
        path = self.settings.memberships_path
        try:
            known = Memberships.load(path)
        except ConfigError:
            known = Memberships()  # derived data: a damaged file is rewritten from the sources
        known.with_root(str(self.root), found).save(path)

    def _dedupe(self, loaded: dict[str, list[Document]], kept: dict[str, list[DocRecord]]
                ) -> dict[str, tuple[str, Document | DocRecord]]:
        """doc_id -> (unit, document to store); identical content under two paths is stored once."""
        groups: dict[str, list[tuple[str, str, Document | DocRecord]]] = {}
        for unit, docs in loaded.items():
            for d in docs:
                for p in dict.fromkeys((d.source, *d.paths)):  # a symlinked file's other paths too
                    groups.setdefault(_dup_key(d), []).append((p, unit, d))
        for unit, recs in kept.items():
            for r in recs:
                for p in r.paths:
                    groups.setdefault(r.dup_key, []).append((p, unit, r))
        desired: dict[str, tuple[str, Document | DocRecord]] = {}
        for members in groups.values():
            members.sort(key=lambda m: (m[0] != m[2].source, m[0]))  # a symlink's path never wins over the file's
            paths = sorted({m[0] for m in members})
            source, unit, item = members[0]
            self.summary.duplicates += len(paths) - 1
            if isinstance(item, DocRecord):
                loaded_member = next((m for m in members if isinstance(m[2], Document)), None)
                if item.paths == paths or loaded_member is None:
                    desired[item.doc_id] = (unit, item)
                    continue
                # The stored primary gained or lost a twin: rewrite it from the loaded copy.
                doc = loaded_member[2]
                assert isinstance(doc, Document)
            else:
                doc = item
            doc = doc.model_copy(update={"source": source, "paths": tuple(paths),
                                         "doc_id": document_id(self.root_id, source)})
            desired[doc.doc_id] = (unit, doc)
        return desired

    # -- writing ---------------------------------------------------------------------------
    def _version(self, doc: Document) -> str:
        return stable_hash(doc.content_hash, "|".join(doc.paths), self.version_salt, length=24)

    def _write(self, rootkey: str, desired: dict[str, tuple[str, Document | DocRecord]],
               known: dict[str, DocRecord]) -> None:
        todo: list[tuple[str, Document, bool]] = []  # (unit, document, replaces a stored one)
        kinds: Counter[str] = Counter()
        for doc_id, (unit, item) in desired.items():
            kinds[item.kind] += 1
            if isinstance(item, DocRecord):
                self.summary.unchanged += 1
                continue
            prev = known.get(doc_id)
            if prev and prev.state == "done" and prev.version == self._version(item):
                self.summary.unchanged += 1
                continue
            todo.append((unit, item, prev is not None))
        gone = [d for d in known if d not in desired]
        if todo or gone:
            store = self._store()
            self._write_docs(rootkey, store, todo)
            for i, doc_id in enumerate(gone):
                self.progress("delete", i, len(gone))
                store.delete_document(doc_id)
                self.manifest.forget([doc_id])  # one by one: a killed run leaves the ledger true
            self.summary.deleted = len(gone)
        self.summary.documents = len(desired)
        self.summary.by_kind = dict(kinds)
        self.summary.chunks = sum(len(r.chunk_ids) for r in self.manifest.docs(rootkey).values())

    def _write_docs(self, rootkey: str, store: VectorStore, todo: list[tuple[str, Document, bool]]) -> None:
        # Imported here: llama-index costs ~0.8 s to import, and an unchanged re-ingest never chunks.
        from ingest.chunking import Chunker

        chunker = Chunker(count_tokens=self.embedder.count_tokens, chunk_tokens=self.settings.chunk_tokens,
                          overlap=self.settings.chunk_overlap)
        batch: list[tuple[str, Document, list[Chunk]]] = []
        size = 0
        total = len(todo)
        for i, (unit, doc, replaces) in enumerate(todo):
            try:
                chunks = chunker.chunk(doc)
            except Exception as exc:  # noqa: BLE001 - one document that cannot be split must not stop the run
                # Reported, and its unit read again next run; a stored older version stays as it was.
                self.failures.append(Failure(doc.source, f"cannot split it into passages ({type(exc).__name__}: "
                                                         f"{str(exc)[:200]})"))
                self._unit_failed.add(unit)
            else:
                self._written.add(doc.source)
                self.summary.replaced += replaces
                self.summary.added += not replaces
                batch.append((unit, doc, chunks))
                size += len(chunks)
            if size >= 256 or i == total - 1:
                self.progress("embed", i + 1, total)
                self._flush(rootkey, store, batch)
                batch, size = [], 0
        self.progress("embed", total, total)

    def _flush(self, rootkey: str, store: VectorStore, batch: list[tuple[str, Document, list[Chunk]]]) -> None:
        recs = [DocRecord(doc.doc_id, unit, doc.source, list(doc.paths), self._version(doc), _dup_key(doc),
                          "pending", [c.chunk_id for c in chunks], doc.kind, doc.title)
                for unit, doc, chunks in batch]
        self.manifest.mark_pending(rootkey, recs)
        chunks = [c for _, _, cs in batch for c in cs]
        for i in range(0, len(chunks), EMBED_SLICE):
            self._embed_and_store(store, chunks[i:i + EMBED_SLICE])
        for _, doc, cs in batch:
            store.delete_document(doc.doc_id, keep={c.chunk_id for c in cs})
        self.manifest.mark_done([doc.doc_id for _, doc, _ in batch])

    def _embed_and_store(self, store: VectorStore, chunks: list[Chunk]) -> None:
        """Upsert ``chunks`` with their stored vectors where they have one, else freshly embedded ones."""
        import numpy as np

        reuse = store.vectors([c.chunk_id for c in chunks])
        missing = [c for c in chunks if c.chunk_id not in reuse]
        fresh = self.embedder.embed_documents([embed_text(c) for c in missing])
        vec = dict(reuse)
        vec.update({c.chunk_id: fresh[i] for i, c in enumerate(missing)})
        if chunks:
            store.upsert(chunks, np.stack([vec[c.chunk_id] for c in chunks]))
        self.summary.embedded += len(missing)
        self.summary.reused_vectors += len(reuse)
        if missing:
            return_freed_memory()

