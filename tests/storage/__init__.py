"""Tests of storage: the manifest and the vector stores."""
