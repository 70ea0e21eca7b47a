"""Serving the index to a team: the HTTP app, what stands in front of it (the gate), API keys,
the audit log, and what a key limited to collections may see."""
