"""The Textual terminal UI, over the ragkit facade only."""
