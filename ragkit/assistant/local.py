"""The one object every UI talks to: index, search, ask, status.

Build it with :func:`open_ragkit`; the CLI, the TUI and the tests all use that factory.
``Ragkit`` only wires three collaborators together and keeps the names UIs call:
:class:`~ragkit.index.library.Library` (the index: parts, identity, writer lock, sync, search),
:class:`~ragkit.llm.loader.ChatModels` (which model answers, loaded once) and
:class:`~ragkit.answer.answerer.Answerer` (question to verified answer). Heavy parts load on
first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ragkit.answer import passages as viewer
from ragkit.answer.answerer import NOT_FOUND, UNVERIFIED, Answer, Answerer, Mode
from ragkit.answer.conversation import Conversation, ConversationStore
from ragkit.answer.routing import Route, Router
from ragkit.assistant.archive import LocalArchive
from ragkit.assistant.each import EachRow
from ragkit.assistant.protocol import Assistant
from ragkit.core import paths
from ragkit.core.config import Settings, load_settings
from ragkit.core.errors import RagkitError
from ragkit.db.ask import SqlAnswer, SqlMode
from ragkit.index.embed import Embedder
from ragkit.index.library import Library, SearchMode
from ragkit.index.report import IndexReport, Progress
from ragkit.index.watch import LiveSync, WatchState
from ragkit.investigate.searches import NewMatch, SavedSearch
from ragkit.llm import LLM, GenerationParams, StreamEvent
from ragkit.llm.catalog import Catalog, ModelRef, Profile
from ragkit.llm.loader import ChatModels
from ragkit.search.continued import with_continuations
from ragkit.search.found import FindResult
from ragkit.search.retrieve import Hit
from ragkit.storage.filters import Filters

__all__ = ["NOT_FOUND", "UNVERIFIED", "Answer", "Ragkit", "open_assistant", "open_ragkit"]


class Ragkit(LocalArchive):
    def __init__(
        self, settings: Settings, embedder: Embedder | None = None, query_embedder: Embedder | None = None
    ) -> None:
        self.settings = settings
        self.library = Library(settings, embedder, query_embedder)
        self.chat = ChatModels(settings)
        library = self.library
        self.answerer = Answerer(
            settings, self.chat, self.search, lambda: library.manifest.counts()["chunks"],
            lambda texts: library.query_embedder.embed(texts), self._continued,
        )  # fmt: skip
        self.index_path = self.library.path
        self.watch_state = WatchState(paths.watch_state_file(settings.home))
        self.conversations = ConversationStore(paths.conversations_dir(settings.home))
        self._live: LiveSync | None = None  # a watcher running in this process (the TUI's)
        self._router: Router | None = None

    # --- the index ---------------------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        return self.chat.catalog

    def writer(self) -> AbstractContextManager[None]:
        """Hold the index's writer lock (re-entrant within this process)."""
        return self.library.writer()

    def index(
        self,
        roots: Sequence[Path],
        rebuild: bool = False,
        progress: Callable[[Progress], None] | None = None,
        strict: bool = True,
        stop: threading.Event | None = None,
        within: Sequence[Path] = (),
    ) -> IndexReport:
        """Bring the index in step with ``roots``; ``stop`` cancels (see ``Indexer.sync``)."""
        return self.library.index(roots, rebuild, progress, strict, stop, within)

    def live_sync(
        self,
        roots: Sequence[Path],
        on_sync: Callable[[IndexReport], None] | None = None,
        progress: Callable[[Progress], None] | None = None,
        **options: Any,
    ) -> LiveSync:
        """A watcher for ``roots``: ``.run()`` blocks, ``.start()`` runs it in a thread."""
        cfg = self.settings.watch
        options = {"poll": cfg.poll, "debounce_s": cfg.debounce_s, "rescan_s": cfg.rescan_s, "rows_s": cfg.rows_s,
                   **options}  # fmt: skip
        if any(d.text_columns for d in self.settings.databases.values()):
            options.setdefault("rows", lambda stop: self.sync_rows(stop=stop)["index"])
        library = self.library
        self._live = LiveSync(
            library.index, library.writer, library.release_thread, self.watch_state, roots,
            on_sync=on_sync, progress=progress, **options,
        )  # fmt: skip
        return self._live

    def sync_rows(
        self,
        names: Sequence[str] | None = None,
        progress: Callable[[Progress], None] | None = None,
        stop: threading.Event | None = None,
    ) -> dict[str, Any]:
        """Rows as documents: bring each database's mirror of its text columns in step (``names``,
        default every database with ``text_columns``), then index the mirror like a folder.
        ``{"databases": [what each mirror did], "index": the IndexReport or None}``."""
        from ragkit.db import rows as rowdocs

        wanted = list(names) if names else [n for n, d in sorted(self.settings.databases.items()) if d.text_columns]
        for name in wanted:
            if name not in self.settings.databases:
                raise RagkitError(f"no database is named {name!r} (see: ragkit db list)")
            if not self.settings.databases[name].text_columns:
                raise RagkitError(
                    f"database {name!r} has no --text-columns to index (ragkit db add NAME URL --text-columns T.COL)"
                )
        mirrored = [rowdocs.mirror(self.settings, name).as_dict() for name in wanted]
        root = rowdocs.rows_root(self.settings.home)
        if not root.exists():
            return {"databases": mirrored, "index": None}
        return {"databases": mirrored, "index": self.index([root], progress=progress, stop=stop, within=[root])}

    def search(self, query: str, k: int | None = None, mode: SearchMode | None = None, scope: Filters | None = None,
               continued: bool = False) -> list[Hit]:  # fmt: skip
        """The ``k`` best passages for ``query`` (filters may be typed in it), ranked by ``mode``;
        ``scope``: filters that apply besides (a server key's collections); ``continued``: each
        passage whose table runs on followed by the passage continuing it (``Hit.continues``)."""
        hits = self.library.search(query, k, mode, scope)
        return self._continued(hits) if continued else hits

    def _continued(self, hits: list[Hit]) -> list[Hit]:
        """``hits``, each table that runs on followed by the passage continuing it."""
        return with_continuations(hits, self.library.manifest.chunks_by_id)

    def find(self, query: str, offset: int = 0, limit: int | None = 20, scope: Filters | None = None) -> FindResult:
        """Every passage matching ``query`` in the query language of :mod:`ragkit.search.query`."""
        return self.library.find(query, offset, limit, scope)

    # --- saved searches ---------------------------------------------------------------

    def save_search(self, name: str, query: str) -> SavedSearch:
        """Save ``query`` as ``name``: every index run from now on reports the passages it
        matches that it did not match before (what it matches now is the baseline)."""
        self.library.check_identity(write=False)
        return self.library.searches.save(name, query, self.library.keywords)

    def saved_searches(self) -> list[SavedSearch]:
        return self.library.searches.saved()

    def remove_search(self, name: str) -> None:
        self.library.searches.remove(name)

    def run_search(self, name: str, limit: int | None = 20) -> tuple[SavedSearch, FindResult, list[NewMatch]]:
        """Run a saved search now: its current hits, and the matches that are new since someone
        last looked (which are then no longer new)."""
        searches = self.library.searches
        searches.get(name)
        self.library.check_identity(write=False)
        searches.check(self.library.keywords, [name])
        news = searches.new_matches(name)
        result = self.library.find(searches.get(name).query, 0, limit)
        searches.acknowledge(name)
        return searches.get(name), result, news

    # --- models ---------------------------------------------------------------------

    def model_ref(self, model: str | None = None) -> ModelRef:
        return self.chat.ref(model)

    def models(self) -> list[dict[str, Any]]:
        """Installed models, then the known ones not downloaded."""
        return self.chat.listing()

    def set_llm(self, llm: LLM | None) -> None:
        """Answer with this model object instead of one from the settings (for programs that
        embed ragkit with their own backend; ``None`` goes back to the settings)."""
        self.chat.pin(llm)

    def model_note(self, model: str | None = None) -> str:
        return self.chat.note(model)

    def profile(self, llm: LLM) -> Profile:
        return self.chat.profile(llm)

    def profile_of(self, guessed: str) -> Profile:
        return self.chat.profile_of(guessed)

    def generation_params(self, llm: LLM | Profile) -> GenerationParams:
        return self.chat.params(llm)

    def llm(self, model: str | None = None) -> LLM:
        """The chat model, loaded once and kept (its prompt cache with it)."""
        return self.chat.load(model)

    def load_model(self, model: str | None = None) -> None:
        """Load the chat model now, so the first question does not wait for it."""
        self.chat.load(model)

    # --- questions ------------------------------------------------------------------

    def ask_stream(
        self,
        question: str,
        model: str | None = None,
        conversation: Conversation | None = None,
        mode: Mode | None = None,
        databases: Sequence[str] | None = None,
        scope: Filters | None = None,
    ) -> Generator[StreamEvent | Answer | SqlAnswer, None, None]:
        """Yield reasoning/text events as the model writes, then the final :class:`Answer`.
        With a ``conversation``, the question is a follow-up and the turn is added to it.
        ``mode``: "auto" (default), "generate" or "extract" (see ``Answerer.ask_stream``);
        ``scope``: only passages within these filters are searched (a server key's collections).
        The question may go to one of ``databases`` instead (default: every one added; see
        :mod:`ragkit.answer.routing`): then a ``route`` event comes first and a :class:`SqlAnswer` last."""
        failed = ""
        route = self.route(question, databases, scope)
        if route.database:  # a database's answer is not a turn of the conversation: it has no passages
            yield StreamEvent("route", route.why())
            answer = self.ask_database(question, route.database, model)
            answer.route = route.as_dict()
            if answer.result is not None:
                yield answer
                return
            why = answer.attempts[-1].error if answer.attempts else answer.unmapped
            failed = f"Asked of database {route.database} first, where no query ran ({why})."
            yield StreamEvent("route", f"{failed[:-1]}; answering from the documents")
        answerer = self.answerer
        if scope:
            library = self.library
            answerer = Answerer(
                self.settings, self.chat, lambda q, k: library.search(q, k, None, scope),
                lambda: library.manifest.counts()["chunks"], lambda texts: library.query_embedder.embed(texts),
                self._continued,
            )  # fmt: skip
        for item in answerer.ask_stream(question, model, conversation, mode):
            if failed and isinstance(item, Answer):
                item.notice = f"{item.notice} {failed}" if item.notice else failed
            yield item

    def route(self, question: str, databases: Sequence[str] | None = None, scope: Filters | None = None) -> Route:
        """Whether ``question`` goes to one of ``databases`` (default: every one added) or to
        the documents (within ``scope``); always the documents with ``answer.route = "docs"``."""
        names = sorted(self.settings.databases) if databases is None else list(databases)
        if self.settings.answer.route == "docs" or not names:
            return Route(None, 0.0, 0.0)
        hits = self.library.search(question, 1, "dense", scope) if self.library.manifest.counts()["chunks"] else []
        return self.router.route(question, names, max((h.score for h in hits), default=0.0))

    @property
    def router(self) -> Router:
        if self._router is None:
            library = self.library
            self._router = Router(lambda texts: library.query_embedder.embed(texts), self._describe)
        return self._router

    def _describe(self, name: str) -> list[tuple[str, str]]:
        from ragkit.db import connections as databases
        from ragkit.db.ask import schema_text

        return [(t.name, schema_text([t])) for t in databases.configured(self.settings, name).schema()]

    def ask(
        self,
        question: str,
        model: str | None = None,
        conversation: Conversation | None = None,
        mode: Mode | None = None,
    ) -> Answer:
        return self.answerer.ask(question, model, conversation, mode)

    def ask_each(self, question: str, query: str, mode: Mode | None = None) -> tuple[int, Iterator[EachRow]]:
        """The question asked of every file ``query`` matches (:mod:`ragkit.assistant.each`):
        how many files, and their rows as they are answered."""
        from ragkit.assistant.each import answer_each, matching_files

        if mode == "generate":
            raise RagkitError("--each answers with quotes (extract) or the model's checked answer (auto), not generate")
        files = matching_files(self, query)
        return len(files), answer_each(self, files, question, mode or "extract")

    def ask_database(
        self, question: str, name: str, model: str | None = None, sql_mode: SqlMode | None = None
    ) -> SqlAnswer:
        """Answer ``question`` from the database ``name`` (``ragkit db add``): the rules or the
        model write SQL (``sql_mode``, default ``[db] sql_mode``), the guard and a read-only
        connection run it (see :mod:`ragkit.db.ask`)."""
        from ragkit.db import connections as databases
        from ragkit.db.ask import SqlAsker, answer_question

        database = databases.configured(self.settings, name)
        library = self.library

        def embed(texts: Sequence[str]) -> Any:
            return library.query_embedder.embed(texts)

        def asker() -> SqlAsker:
            llm = self.chat.load(model)
            return SqlAsker(llm, self.chat.params(llm), embed)

        return answer_question(question, database, sql_mode or self.settings.db.sql_mode, asker, embed)

    # --- passages ---------------------------------------------------------------------

    def passage(self, path: str, page: int | None, start: int, end: int, context: int = 400) -> dict[str, Any]:
        """The cited span in its context, read from the file itself; refused if the file
        changed since it was indexed."""
        return viewer.passage(path, page, start, end, self.library.manifest.file(path), context)

    def open_file(self, path: str, page: int | None = None, member: str = "") -> list[str]:
        """Open the file (or an archive's member) in the system viewer, at ``page``."""
        return viewer.open_file(path, page, member)

    # --- state ----------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        manifest = self.library.manifest
        counts = manifest.counts()
        live = self._live
        watcher = live.snapshot() | {"here": True} if live is not None and live.running else None
        ignored = self.library.ignored()
        return {
            **counts,
            "index_path": str(self.index_path),
            "embedder": self.settings.embed.model,
            "embedding": self.library.embedding_plan(),
            "search": self.library.search_plan(),
            "failures": manifest.failures(),
            "warnings": manifest.warnings(),
            "watcher": watcher or self.watch_state.read(self.library.writer_lock),
            "folders": [str(f) for f in self.settings.watch.folders],
            "searches": [s.as_dict() for s in self.library.searches.saved()],
            "ignored": sum(int(i["files"]) for i in ignored),
            "ignored_paths": ignored,
            "rebuild_due": self.library.rebuild_due(),
        }

    def keep_warm(self) -> None:
        """For a process that keeps running and searching: hold what makes searches faster
        (the ranked keyword index) in memory, read in the background."""
        self.library.keep_warm()

    def written_elsewhere(self) -> bool:
        """Whether another process holds the index's writer lock (a watcher, an index run)."""
        return self.library.writer_lock.is_locked_elsewhere()

    def load_embedder(self) -> None:
        """Load the document embedder now, not at the first change a watcher sees: loading it
        holds the interpreter for seconds, and a server's requests would wait behind it."""
        self.library.embedder.embed(["warm-up"])

    def follow_settings(self, fresh: Settings) -> None:
        """Take the collections and databases of a config file that changed while running."""
        self.settings.collections = fresh.collections  # the indexer's link fences follow them
        if fresh.databases != self.settings.databases:  # databases added or removed meanwhile
            self.settings.databases = fresh.databases
            self.router.forget()

    def close(self) -> None:
        """Stop this process's watcher (waiting for it), drop the models, close the index."""
        if self._live is not None:
            self._live.close()
        self.chat.close()
        self.library.close()


def open_assistant(server: str | None = None, collection: str | None = None, **overrides: Any) -> Assistant:
    """What the CLI's ask/search/find/status and the terminal UI work over: the ragkit server
    named by ``server`` (else ``RAGKIT_SERVER``, else the config's ``client.server``) used over
    HTTP, or, with none named, the index on this machine."""
    from ragkit.assistant.remote import RemoteAssistant, server_of

    settings = load_settings(**overrides)
    url = server_of(settings, server)
    if url:
        return RemoteAssistant(settings, url, collection=collection)
    if collection:
        raise RagkitError("--collection names a collection of a ragkit server: give --server URL with it")
    return open_ragkit(settings)


def open_ragkit(
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    query_embedder: Embedder | None = None,
    **overrides: Any,
) -> Ragkit:
    """The factory the CLI, the TUI and the tests share. Already loaded embedders may be
    passed in to share them between instances: ``embedder`` for documents (and queries,
    unless ``query_embedder`` is given too)."""
    return Ragkit(settings or load_settings(**overrides), embedder, query_embedder)
