"""The front-end files: the console's own (static/) and the npm packages' (node_modules,
installed by `npm ci` from the lockfile), served from this process. Only the files the pages
load are reachable, by name; nothing comes from a CDN (district intranets have no internet).

The packages' scripts are large (ECharts: 0.5–1.1 MB), so they are sent gzipped to a browser
that accepts it, compressed once per file and kept in memory (a phone on a slow network
fetches a third as much)."""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response

from cobuild_console.http.web import runtime_of

router = APIRouter()
STATIC = Path(__file__).resolve().parent.parent / "static"

# /static/vendor/<name> → node_modules/<path>
VENDOR = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "echarts.min.js": "echarts/dist/echarts.min.js",
    # The public board's bar charts: ECharts' build of its common charts, half the size.
    "echarts.simple.min.js": "echarts/dist/echarts.simple.min.js",
}
OWN = {
    "console.css": "text/css",
    "phone.css": "text/css",  # the phone pages (/m/): their own, small
    "board.css": "text/css",  # the public board (/board/...)
    "board.js": "text/javascript",
    "console.js": "text/javascript",
    "rates.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
}
_CACHE = {"cache-control": "public, max-age=3600"}


@lru_cache(maxsize=8)
def _gzipped(path: Path, mtime_ns: int) -> bytes:
    return gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)


@router.get("/static/vendor/{name}", include_in_schema=False)
async def vendor(request: Request, name: str) -> Response:
    if name not in VENDOR:
        raise HTTPException(404)
    path = runtime_of(request).node_modules / VENDOR[name]
    if not path.is_file():  # `npm ci` has not run: say so in the log, 404 to the browser
        raise HTTPException(404, f"{path} is missing: run `make` (npm ci)")
    headers = {**_CACHE, "vary": "accept-encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        body = _gzipped(path, path.stat().st_mtime_ns)
        return Response(
            body, media_type="text/javascript", headers={**headers, "content-encoding": "gzip"}
        )
    return FileResponse(path, media_type="text/javascript", headers=headers)


@router.get("/static/{name}", include_in_schema=False)
async def own(name: str) -> FileResponse:
    if name not in OWN:
        raise HTTPException(404)
    return FileResponse(STATIC / name, media_type=OWN[name], headers=_CACHE)
