"""Privacy switches, set before any third-party library is imported.

Imported first by ``ragkit/__init__``. Nothing here may be weakened by configuration:
ragkit never sends a byte off the machine unless the user explicitly asks for a download.
"""

import os

_SWITCHES = {
    "HF_HUB_OFFLINE": "1",  # never fetch from the Hugging Face hub implicitly
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ORT_DISABLE_TELEMETRY": "1",  # onnxruntime (pulled in by chromadb) phones home otherwise
    "ANONYMIZED_TELEMETRY": "False",  # chromadb's own switch, also set in its Settings
    "DO_NOT_TRACK": "1",
    "RAY_USAGE_STATS_ENABLED": "0",  # Ray (the cluster extra) reports usage to its makers otherwise
}

# Not privacy, but quiet: library progress bars and fork warnings do not belong in our output.
_QUIET = {
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}


def apply() -> None:
    for key, value in _SWITCHES.items():
        os.environ[key] = value
    for key, value in _QUIET.items():
        os.environ.setdefault(key, value)


apply()
