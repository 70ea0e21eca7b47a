"""Where the index is kept: the manifest (SQLite: files, documents, chunks, names, messages) and
its numbered migrations, and the vector stores."""
