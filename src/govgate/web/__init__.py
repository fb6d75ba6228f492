"""The read-only web pages: Jinja2 templates rendered from library values."""
