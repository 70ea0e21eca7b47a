"""The index: its manifest and migrations, vectors, embedders, the sync that keeps it in step
with the files, the watcher and the writer lock."""
