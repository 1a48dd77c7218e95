"""Placeholder: layers and features are being written (issue 4)."""
__all__: list[str] = []
