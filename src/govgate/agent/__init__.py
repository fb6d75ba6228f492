"""The unattended agent: a front end over `govgate.api`, like the CLI and the web page."""

from .loop import run

__all__ = ["run"]
