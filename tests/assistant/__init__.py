"""Tests of assistant: the Assistant protocol over a server (RemoteAssistant)."""
