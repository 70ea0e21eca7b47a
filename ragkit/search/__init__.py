"""Searching the index: the query language, exact and keyword search (find), ranked keyword
and dense retrieval, evaluation."""
