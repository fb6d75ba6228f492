"""The database layer: engines and the one session helper, govgate's tables, state, audit."""
