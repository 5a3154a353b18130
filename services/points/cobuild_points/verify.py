"""`python -m cobuild_points.verify --year 2026 [--dsn URL]`: check the ledger's hash chains.

Exit status 0 when every chain holds, 1 naming the first bad entry otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from cobuild_kit.db import connect

from cobuild_points import ledger
from cobuild_points.settings import PointsSettings


async def _run(dsn: str, year: int) -> ledger.VerifyReport:
    conn = await connect(dsn)
    try:
        return await ledger.verify(conn, year)
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cobuild_points.verify")
    parser.add_argument("--year", type=int, required=True)
    parser.add_argument("--dsn", default=None, help="defaults to COBUILD_POINTS_DATABASE_URL")
    args = parser.parse_args(argv)
    report = asyncio.run(_run(args.dsn or PointsSettings().database_url, args.year))
    print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
