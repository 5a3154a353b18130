"""Evidence photos fitted for a phone (issue 36: "images of evidence resized for a phone").

A unit uploads what its camera took: 12 megapixels and 2–5 MB, lying on its side until its EXIF
orientation is applied, with the place and the phone's make in its metadata. An expert scoring
on a phone, often on a slow connection, is shown each photo fitted into 720×540 (sharp on a
360–430 px screen at twice its density), turned upright, without any metadata (no place, no
time, no device), re-encoded as a JPEG of a few tens of KB. The original stays one tap away
(查看原图), served as the commitments service keeps it.

The bytes are fetched with the expert's token, so the commitments service decides who may see
them (an assigned expert; ARCHITECTURE.md, "Who reads a commitment"). Decoding runs in a worker
thread, two at a time (`rt.photo_decoding`), on input bounded in bytes and in pixels (a small
file can declare a huge image).
"""

from __future__ import annotations

import asyncio
import io
import math

from PIL import Image, ImageOps, UnidentifiedImageError

from cobuild_console.gateways.services import TooLarge
from cobuild_console.runtime import ConsoleRuntime

BOX = (720, 540)
MAX_INPUT_BYTES = 16 * 1024 * 1024
MAX_PIXELS = 50_000_000
QUALITY = 75
# Orientations (EXIF 0x0112) that turn the picture a quarter: its width becomes its height.
_QUARTER_TURNS = frozenset({5, 6, 7, 8})
_ORIENTATION = 0x0112


class NotAPhoto(Exception):
    """The file is not a picture Pillow can read, or is larger than the bounds."""


def fit(data: bytes, box: tuple[int, int] = BOX) -> bytes:
    """`data` (a PNG, JPEG, GIF or WebP) as a JPEG fitted into `box`, upright by its EXIF
    orientation, with no metadata. Raises NotAPhoto."""
    if len(data) > MAX_INPUT_BYTES:
        raise NotAPhoto(f"{len(data)} bytes: over {MAX_INPUT_BYTES}")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise NotAPhoto(f"{width}×{height} pixels: over {MAX_PIXELS}")
            turned = image.getexif().get(_ORIENTATION, 1) in _QUARTER_TURNS
            upright = (height, width) if turned else (width, height)
            scale = min(box[0] / upright[0], box[1] / upright[1], 1.0)
            # A JPEG is decoded at 1/2, 1/4 or 1/8 of its size straight away when that is
            # still at least what the box needs: a 12-megapixel photo is read as 1.5.
            image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
            shown = ImageOps.exif_transpose(image)
            shown.thumbnail(box, Image.Resampling.LANCZOS)
            if shown.mode in ("RGBA", "LA", "P"):
                shown = shown.convert("RGBA")
                flat = Image.new("RGB", shown.size, (255, 255, 255))
                flat.paste(shown, mask=shown.getchannel("A"))
                shown = flat
            elif shown.mode != "RGB":
                shown = shown.convert("RGB")
            out = io.BytesIO()
            # No exif=, icc_profile= or comment: nothing of the original's metadata is kept.
            shown.save(out, "JPEG", quality=QUALITY, optimize=True, progressive=True)
            return out.getvalue()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise NotAPhoto(str(exc)) from exc


async def fitted(rt: ConsoleRuntime, token: str, commitment_id: str, evidence_id: str) -> bytes:
    """The evidence photo, fitted for a phone, as the token's holder may see it (a refusal of
    the commitments service is raised as it came)."""
    try:
        data, _ = await rt.services.download(
            "commitments",
            f"/commitments/{commitment_id}/evidence/{evidence_id}",
            token,
            max_bytes=MAX_INPUT_BYTES,
        )
    except TooLarge as exc:
        raise NotAPhoto(str(exc)) from exc
    async with rt.photo_decoding:
        return await asyncio.to_thread(fit, data)
