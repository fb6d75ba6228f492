"""govgate: human-gated, verified, reversible governance rollouts for Directus and SQL databases.

The library is `govgate.api`: one function per command, each returning a value.
"""

__version__ = "0.1.0"
