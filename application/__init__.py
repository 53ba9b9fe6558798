"""Use cases over the domain: the ``CaseLedger`` application and its read helpers."""
