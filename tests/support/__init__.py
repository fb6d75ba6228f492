"""Helpers for the test suite that are not tests: constants, labs, throwaway servers, children.

See tests/README.md for what each module holds.
"""
