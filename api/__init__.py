"""HTTP and command-line entry points."""
