"""Thin routers, one module per area."""
