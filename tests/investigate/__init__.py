"""Tests of investigate: entities, e-mail threads, saved searches."""
