"""Tests of serve: ragkit serve, its keys and its hostile input."""
