"""Serving the index to a team: what stands in front of the HTTP app (the gate), and the app."""
