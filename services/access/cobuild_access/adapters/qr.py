"""QR codes of invitation links (segno: SVG and PNG with no imaging library)."""

from __future__ import annotations

import io

import segno


def svg(text: str) -> bytes:
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=6, border=2, xmldecl=True)
    return out.getvalue()


def png(text: str) -> bytes:
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="png", scale=8, border=2)
    return out.getvalue()
