"""Tests of search: the query language, find, keyword and hybrid search."""
