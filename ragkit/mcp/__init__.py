"""ragkit over the Model Context Protocol: its tools and documents for other assistants and
editors (``ragkit mcp`` over stdio, ``/mcp`` on ``ragkit serve``)."""
