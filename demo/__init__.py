"""The demo shop: its data and ``flask demo seed``."""
