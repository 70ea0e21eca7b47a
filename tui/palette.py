"""The app's actions in the command palette (ctrl+p)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.command import DiscoveryHit, Hit, Hits, Provider


class RagkitCommands(Provider):
    """Each entry runs one of the app's actions."""

    COMMANDS: ClassVar[list[tuple[str, str, str]]] = [
        ("New chat", "new_chat", "Start an empty conversation"),
        ("Toggle search-only mode", "toggle_search", "Instant results from the index, no model"),
        ("Saved conversations", "conversations", "Reopen an earlier conversation"),
        ("Choose model", "models", "Pick the chat model"),
        ("Open cited file", "open_file", "Open the selected source in the system viewer"),
        ("Re-sync watched folders", "resync", "Index the watched folders now"),
        ("Ask every matching file", "ask_each", "One question over every file a find query matches"),
        ("Timeline", "timeline", "Documents by month; a bar lists its documents"),
        ("Help", "help", "All key bindings"),
    ]

    async def discover(self) -> Hits:
        for name, action, help_text in self.COMMANDS:
            yield DiscoveryHit(name, self._runner(action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, help_text in self.COMMANDS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), self._runner(action), help=help_text)

    def _runner(self, action: str) -> Callable[[], Any]:
        async def run() -> None:
            await self.app.run_action(action)

        return run
