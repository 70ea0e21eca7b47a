"""Answers: the prompt and its fences, the answerer, verification of each sentence against its
sources, answers quoted from the evidence (the sentence that answers, and the words in it that
do), conversations, routing a question to the documents or a database, and cited passages."""
