"""Evidence photos fitted for a phone (issue 36): a 12-megapixel camera JPEG lying on its side
comes out upright, inside 720×540, without its metadata (place, time, device) and a few tens
of KB; pictures with transparency are laid on white; what is not a picture, or is larger than
the bounds in bytes or in pixels, is refused before it is decoded."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from cobuild_console.domain.phone import file_size
from cobuild_console.usecases.evidence_photos import MAX_INPUT_BYTES, NotAPhoto, fit
from PIL import Image, ImageDraw

ORIENTATION, MAKE, MODEL, DATETIME, GPS = 0x0112, 0x010F, 0x0110, 0x0132, 0x8825


def camera_jpeg(width: int = 4032, height: int = 3024, orientation: int = 6) -> bytes:
    """A phone camera's photo as it arrives: 12 megapixels at quality 92 (about 3 MB), sensor
    noise, stored sideways with EXIF orientation 6 (turn a quarter clockwise to view), the
    phone's make and model, the time and the GPS position."""
    sky = Image.linear_gradient("L").resize((width, height))
    red, green = sky.point(lambda v: 90 + v // 3), sky.point(lambda v: 130 + v // 4)
    image = Image.merge("RGB", (red, green, Image.new("L", (width, height), 200)))
    draw = ImageDraw.Draw(image)
    for i in range(40):  # boxes and tables in a community room
        x, y = (i * 997) % width, (i * 613) % height
        draw.rectangle([x, y, x + 300 + i * 7, y + 200 + i * 5],
                       fill=((i * 53) % 255, (i * 97) % 255, (i * 31) % 255))  # fmt: skip
        draw.ellipse([y % width, x % height, y % width + 250, x % height + 180],
                     fill=((i * 17) % 255, 200 - i, 80 + i))  # fmt: skip
    image = Image.blend(image, Image.effect_noise((width, height), 24).convert("RGB"), 0.18)
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE], exif[MODEL], exif[DATETIME] = "HUAWEI", "P60", "2026:03:01 10:00:00"
    gps = exif.get_ifd(GPS)
    gps[1], gps[2], gps[3], gps[4] = "N", (31.0, 14.0, 5.5), "E", (121.0, 28.0, 9.1)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def test_a_camera_photo_is_upright_small_and_without_metadata() -> None:
    original = camera_jpeg()
    assert 2_000_000 < len(original) < MAX_INPUT_BYTES
    fitted = fit(original)
    assert len(fitted) < 60_000, len(fitted)
    shown = Image.open(io.BytesIO(fitted))
    assert shown.format == "JPEG"
    assert shown.size == (405, 540)  # stored 4032×3024 on its side: upright it stands
    assert not shown.getexif() and "exif" not in shown.info and "icc_profile" not in shown.info
    for leaked in (b"HUAWEI", b"P60", b"2026:03:01", b"Exif"):
        assert leaked not in fitted


def test_a_landscape_photo_fills_the_box_and_a_small_one_is_not_enlarged() -> None:
    shown = Image.open(io.BytesIO(fit(camera_jpeg(1600, 1200, orientation=1))))
    assert shown.size == (720, 540)
    small = io.BytesIO()
    Image.new("RGB", (320, 200), (200, 40, 40)).save(small, "PNG")
    assert Image.open(io.BytesIO(fit(small.getvalue()))).size == (320, 200)


def test_transparency_is_laid_on_white() -> None:
    clear = io.BytesIO()
    Image.new("RGBA", (40, 30), (0, 0, 0, 0)).save(clear, "PNG")
    shown = Image.open(io.BytesIO(fit(clear.getvalue())))
    assert shown.mode == "RGB"
    red, green, blue = shown.getpixel((20, 15))  # type: ignore[misc]
    assert min(red, green, blue) > 245


def _png_header_only(width: int, height: int) -> bytes:
    """A small PNG that declares a huge image (a decompression bomb's first bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "data",
    [
        _png_header_only(10_000, 8_000),  # 80 megapixels in a few bytes
        b"\xff\xd8\xff" + b"\x00" * (MAX_INPUT_BYTES + 1),  # over 16 MiB
        b"%PDF-1.7 not a picture",
        b"",
    ],
    ids=["too-many-pixels", "too-many-bytes", "pdf", "empty"],
)
def test_what_is_not_a_photo_within_the_bounds_is_refused(data: bytes) -> None:
    with pytest.raises(NotAPhoto):
        fit(data)


def test_the_originals_size_is_said_in_units() -> None:
    assert [file_size(n) for n in (83, 15_158, 3_111_182)] == ["83 B", "15 KB", "3.0 MB"]
