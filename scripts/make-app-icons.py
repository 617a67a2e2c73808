"""Draw the phone app's icons (a white vault dial with a keyhole on the bank's green) as PNG
and SVG into src/kinko/web/static/app/. Standard library only; the output is committed, so
this runs only when the design changes: `python3 scripts/make-app-icons.py`.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "kinko" / "web" / "static" / "app"
GREEN = (0x0B, 0x5B, 0x4B)
WHITE = (0xFF, 0xFF, 0xFF)
SUPERSAMPLE = 4

# The motif in a unit square centred on (0.5, 0.5): a ring, and a keyhole (a disc over a
# trapezoid). Maskable icons shrink it into the central safe zone (a circle of 80%).
RING = (0.30, 0.37)
HOLE_CENTRE, HOLE_RADIUS = (0.5, 0.45), 0.085
SLOT_TOP, SLOT_BOTTOM, SLOT_HALF_TOP, SLOT_HALF_BOTTOM = 0.47, 0.65, 0.035, 0.065


def motif(x: float, y: float) -> bool:
    r = math.hypot(x - 0.5, y - 0.5)
    if RING[0] <= r <= RING[1]:
        return True
    if math.hypot(x - HOLE_CENTRE[0], y - HOLE_CENTRE[1]) <= HOLE_RADIUS:
        return True
    if SLOT_TOP <= y <= SLOT_BOTTOM:
        half = SLOT_HALF_TOP + (SLOT_HALF_BOTTOM - SLOT_HALF_TOP) * (y - SLOT_TOP) / (
            SLOT_BOTTOM - SLOT_TOP)
        return abs(x - 0.5) <= half
    return False


def rounded_square(x: float, y: float, radius: float) -> bool:
    dx = max(radius - x, 0.0, x - (1 - radius))
    dy = max(radius - y, 0.0, y - (1 - radius))
    return math.hypot(dx, dy) <= radius


def draw(size: int, *, corner: float, scale: float) -> bytes:
    """RGBA rows of one icon: green where the background is, white where the motif is."""
    rows = bytearray()
    step = 1 / (size * SUPERSAMPLE)
    inside: Callable[[float, float], bool] = (
        (lambda x, y: rounded_square(x, y, corner)) if corner else (lambda x, y: True))
    for py in range(size):
        rows.append(0)  # filter: none
        for px in range(size):
            background = white = 0
            for sy in range(SUPERSAMPLE):
                for sx in range(SUPERSAMPLE):
                    x = (px * SUPERSAMPLE + sx + 0.5) * step
                    y = (py * SUPERSAMPLE + sy + 0.5) * step
                    if not inside(x, y):
                        continue
                    background += 1
                    if motif(0.5 + (x - 0.5) / scale, 0.5 + (y - 0.5) / scale):
                        white += 1
            samples = SUPERSAMPLE * SUPERSAMPLE
            if background == 0:
                rows += bytes(4)
                continue
            share = white / background
            colour = [round(g + (w - g) * share) for g, w in zip(GREEN, WHITE, strict=True)]
            rows += bytes([*colour, round(255 * background / samples)])
    return bytes(rows)


def png(size: int, rgba_rows: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rgba_rows, 9)) + chunk(b"IEND", b""))


def svg() -> str:
    def u(value: float) -> str:
        return f"{value * 512:g}"

    ring_mid, ring_width = (RING[0] + RING[1]) / 2, RING[1] - RING[0]
    slot = " ".join(f"{u(x)},{u(y)}" for x, y in (
        (0.5 - SLOT_HALF_TOP, SLOT_TOP), (0.5 + SLOT_HALF_TOP, SLOT_TOP),
        (0.5 + SLOT_HALF_BOTTOM, SLOT_BOTTOM), (0.5 - SLOT_HALF_BOTTOM, SLOT_BOTTOM)))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">'
        f'<rect width="512" height="512" rx="{u(0.2)}" fill="#0b5b4b"/>'
        f'<circle cx="256" cy="256" r="{u(ring_mid)}" fill="none" stroke="#fff" '
        f'stroke-width="{u(ring_width)}"/>'
        f'<circle cx="{u(HOLE_CENTRE[0])}" cy="{u(HOLE_CENTRE[1])}" r="{u(HOLE_RADIUS)}" '
        'fill="#fff"/>'
        f'<polygon points="{slot}" fill="#fff"/></svg>\n'
    )


def main() -> None:
    icons = {
        "icon-192.png": (192, 0.2, 1.0),           # "any": a rounded square
        "icon-512.png": (512, 0.2, 1.0),
        "icon-maskable-512.png": (512, 0.0, 0.8),  # full bleed, motif in the safe zone
        "icon-180.png": (180, 0.0, 0.9),           # apple-touch-icon: iOS rounds it itself
    }
    for name, (size, corner, scale) in icons.items():
        (OUT / name).write_bytes(png(size, draw(size, corner=corner, scale=scale)))
    (OUT / "icon.svg").write_text(svg(), encoding="ascii")


if __name__ == "__main__":
    main()
