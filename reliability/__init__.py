"""The reliability suite (issue 17, point 2): govgate's guarantees measured as figures.

`make reliability` runs every family at full size and records the figures in
docs/RELIABILITY.md; tests/test_reliability_quick.py runs each family small inside `make test`.
"""
