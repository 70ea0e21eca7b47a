"""Tests of answer: prompts, verified citations, quoted and short answers, routing."""
