"""Adapters to the outside world: storage, reference data, clocks."""
