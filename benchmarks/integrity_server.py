"""The integrity benchmark's servers: ``caseledger serve``'s app, with hashing and encryption on or off.

``python -m benchmarks.integrity_server on|off PORT`` builds the same app, settings and
uvicorn options either way; "off" only swaps the ledger's store for the same recorder
without the hash chain and stores parties as given (``benchmarks.integrity.plain_ledger``).
The two sides differ in nothing else, so their throughput ratio is the cost of the two.
"""

from __future__ import annotations

import sys

import uvicorn

from api.main import create_app
from benchmarks.integrity import plain_ledger
from infrastructure.settings import Settings


def main(argv: list[str]) -> None:
    side, port = argv[0], int(argv[1])
    if side not in ("on", "off"):
        raise SystemExit("usage: python -m benchmarks.integrity_server on|off PORT")
    settings = Settings()
    app = create_app(settings, ledger=plain_ledger(settings) if side == "off" else None)
    uvicorn.run(app, host=settings.host, port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(sys.argv[1:])
