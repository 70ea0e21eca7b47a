"""Tests of index: sync, crash safety, the watcher's runs, embedders."""
