"""Tests of cli: the ragkit command."""
