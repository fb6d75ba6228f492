"""One module per revision of govgate's own tables."""
