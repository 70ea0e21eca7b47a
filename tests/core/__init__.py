"""Tests of core: settings, files, paths, privacy, the import layers."""
