"""Answers quoted from the evidence: which sentence answers a question, and the words in it
that do (a name, a date, a place, an amount)."""
