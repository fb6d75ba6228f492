"""Argument types stricter than click's own: what a number given on the command line may be."""

from __future__ import annotations

import math

import click


class Count(click.ParamType):
    """A whole number from 1 to MAXIMUM, in ASCII digits (int() would take '١٢' or '１２')."""

    name = "count"

    def __init__(self, maximum: int):
        self.maximum = maximum

    def convert(self, value, param, ctx):
        text = str(value)
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= self.maximum:
            self.fail(f"must be a whole number from 1 to {self.maximum}, not {text!r}", param, ctx)
        return int(text)


class Seconds(click.ParamType):
    """A finite number of seconds, at least MINIMUM (float() would take 'nan' and 'inf')."""

    name = "seconds"

    def __init__(self, minimum: float):
        self.minimum = minimum

    def convert(self, value, param, ctx):
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = math.nan
        if not math.isfinite(seconds) or seconds < self.minimum:
            self.fail(
                f"must be a number of seconds, at least {self.minimum}, not {value!r}", param, ctx
            )
        return seconds
