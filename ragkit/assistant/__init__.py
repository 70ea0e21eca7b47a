"""The typed Assistant protocol, and its two implementations: the index on this machine
(Ragkit) and a ragkit server (RemoteAssistant)."""
