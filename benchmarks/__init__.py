"""Throughput benchmarks on PostgreSQL (``make bench``): the ledger, the bare library and HTTP."""
