"""Tests of ingest: files to sections and chunks, the watcher."""
