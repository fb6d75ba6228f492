"""The cost curve as a PNG, without dependencies: time per slot against size, log-log.

One panel per database; in each, one line per operation: govgate in-process (solid), govgate as a
CLI process (dashed, the same colour), the floor (grey: solid in-process, dashed as a process) and
Sqitch (black: deploy --verify dashed, revert dotted; both are processes). Written with zlib and
struct only (a tiny PNG encoder, Bresenham lines, a 5x7 bitmap font for the labels).
"""

from __future__ import annotations

import math
import struct
import zlib

# 5x7 glyphs, upper case only: each entry is the character, then its seven rows of five bits
# (two hex digits a row, top row first).
_GLYPHS = (
    "00E11131519110E1040C040404040E20E11010204081F31F02040201110E402060A121F020251F101E0101110E"
    "60608101E11110E71F01020408080880E11110E11110E90E11110F01020CA0E1111111F1111B1E11111E11111E"
    "C0E11101010110ED1C12111111121CE1F10101E10101FF1F10101E101010G0E11101711110FH1111111F111111"
    "I0E04040404040EJ0702020202120CK11121418141211L1010101010101FM111B1515111111N11111915131111"
    "O0E11111111110EP1E11111E101010Q0E11111115120DR1E11111E141211S0F10100E01011ET1F040404040404"
    "U1111111111110EV11111111110A04W1111111515150AX11110A040A1111Y1111110A040404Z1F01020408101F"
    " 00000000000000-0000001F000000.00000000000C0C,000000000C0408(02040808080402)08040202020408"
    "/00010204081000:000C0C000C0C00=00001F001F0000+0004041F040400_0000000000001F*00150E1F0E1500"
)
_FONT = {_GLYPHS[i]: _GLYPHS[i + 1 : i + 15] for i in range(0, len(_GLYPHS), 15)}

WHITE, BLACK, GREY, LIGHT = (255, 255, 255), (0, 0, 0), (140, 140, 140), (225, 225, 225)
COLOURS = {  # govgate's operations; the baselines are grey (floor) and black (Sqitch)
    "propose": (148, 103, 189),
    "status": (31, 119, 180),
    "status-applied": (23, 190, 207),
    "apply": (214, 39, 40),
    "verify": (44, 160, 44),
    "rollback": (255, 127, 14),
    "rehearse": (140, 86, 75),
    "floor": GREY,
    "sqitch": BLACK,
}


class Canvas:
    """An RGB image in memory, with the few drawing calls the curve needs."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.pixels = bytearray(WHITE * (width * height))

    def dot(self, x: int, y: int, colour, size: int = 1) -> None:
        half = size // 2
        for yy in range(y - half, y - half + size):
            for xx in range(x - half, x - half + size):
                if 0 <= xx < self.width and 0 <= yy < self.height:
                    i = 3 * (yy * self.width + xx)
                    self.pixels[i : i + 3] = bytes(colour)

    def line(self, x0, y0, x1, y1, colour, width: int = 1, dash: int = 0) -> None:
        """Bresenham; DASH > 0 draws DASH pixels on, DASH off."""
        x0, y0, x1, y1 = round(x0), round(y0), round(x1), round(y1)
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err, step = dx + dy, 0
        while True:
            if not dash or (step // dash) % 2 == 0:
                self.dot(x0, y0, colour, width)
            if x0 == x1 and y0 == y1:
                return
            e2, step = 2 * err, step + 1
            if e2 >= dy:
                err, x0 = err + dy, x0 + sx
            if e2 <= dx:
                err, y0 = err + dx, y0 + sy

    def text(self, x: int, y: int, text: str, colour=BLACK, scale: int = 1) -> int:
        """Draw TEXT with its top-left at (x, y); returns the x after it."""
        for ch in text.upper():
            glyph = _FONT.get(ch, _FONT["."])
            for row in range(7):
                bits = int(glyph[2 * row : 2 * row + 2], 16)
                for col in range(5):
                    if bits & (0x10 >> col):
                        for a in range(scale):
                            for b in range(scale):
                                self.dot(x + col * scale + a, y + row * scale + b, colour)
            x += 6 * scale
        return x

    def png(self) -> bytes:
        raw = b"".join(
            b"\x00" + bytes(self.pixels[3 * self.width * y : 3 * self.width * (y + 1)])
            for y in range(self.height)
        )

        def chunk(kind: bytes, data: bytes) -> bytes:
            body = kind + data
            return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b"")
        )


def text_width(text: str, scale: int = 1) -> int:
    return 6 * scale * len(text)


def _label(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g}K" if value < 1e6 else f"{value / 1e6:g}M"
    return f"{value:g}"


def _panel(canvas, box, title, series, xs, ylim, notes) -> None:
    """One database: axes, decade grid, labels and a line per series (name, style, points)."""
    left, top, right, bottom = box
    lo_x, hi_x = math.log10(min(xs)) - 0.1, math.log10(max(xs)) + 0.1
    lo_y, hi_y = ylim

    def px(x: float) -> float:
        return left + (math.log10(x) - lo_x) / (hi_x - lo_x) * (right - left)

    def py(y: float) -> float:
        return bottom - (math.log10(y) - lo_y) / (hi_y - lo_y) * (bottom - top)

    for decade in range(math.floor(lo_y), math.ceil(hi_y) + 1):
        if lo_y <= decade <= hi_y:
            y = py(10**decade)
            canvas.line(left, y, right, y, LIGHT)
            label = _label(10**decade)
            canvas.text(left - 8 - text_width(label), round(y) - 3, label)
    for x in xs:
        canvas.line(px(x), top, px(x), bottom, LIGHT)
        for n, label in enumerate((f"{x:,}", notes.get(x, ""))):
            canvas.text(round(px(x)) - text_width(label) // 2, bottom + 8 + 10 * n, label)
    canvas.line(left, bottom, right, bottom, BLACK)
    canvas.line(left, top, left, bottom, BLACK)
    canvas.text(left + (right - left - text_width(title, 2)) // 2, top - 22, title, scale=2)
    for _name, (colour, dash), points in series:
        pts = sorted((x, y) for x, y in points if y and y > 0)
        for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
            canvas.line(px(x0), py(y0), px(x1), py(y1), colour, width=2, dash=dash)
        for x, y in pts:
            canvas.dot(round(px(x)), round(py(y)), colour, 6)


def style(operation: str) -> tuple[tuple[int, int, int], int]:
    """(colour, dash) of a series named like `apply`, `cli apply`, `floor cli`, `sqitch revert`."""
    words = operation.split()
    base = "sqitch" if "sqitch" in words else "floor" if "floor" in words else words[-1]
    dash = 2 if words[-1] == "revert" else 6 if {"cli", "sqitch"} & set(words) else 0
    return COLOURS.get(base, GREY), dash


def draw(path: str, panels: dict[str, dict[str, dict[int, float]]], notes: dict[int, str]) -> None:
    """Write the PNG: PANELS is {database: {series name: {slots: microseconds per slot}}}; NOTES
    names each size under its slot count (e.g. {210: "35 X 6"})."""
    names = sorted({n for series in panels.values() for n in series})
    values = [v for s in panels.values() for pts in s.values() for v in pts.values() if v > 0]
    xs = sorted({x for s in panels.values() for pts in s.values() for x in pts})
    if not values or not xs:
        return
    ylim = (math.floor(math.log10(min(values))), math.ceil(math.log10(max(values))))
    width, panel_w = 60 + 520 * len(panels), 520
    columns = max(1, (width - 80) // 240)
    legend_rows = math.ceil(len(names) / columns)
    height = 500 + 16 * legend_rows
    canvas = Canvas(width, height)
    title = "GOVGATE COST CURVE: TIME PER SLOT (MICROSECONDS, LOG) AGAINST SIZE (SLOTS, LOG)"
    canvas.text((width - text_width(title)) // 2, 8, title)
    for i, (db, series) in enumerate(panels.items()):
        left = 80 + i * panel_w
        box = (left, 60, left + panel_w - 60, 430)
        items = [(n, style(n), list(series[n].items())) for n in names if n in series]
        _panel(canvas, box, db, items, xs, ylim, notes)
        canvas.text(left + 90, 462, "SLOTS = GOVERNED COLLECTIONS X DUTIES")
    canvas.text(6, 44, "US/SLOT")
    for j, name in enumerate(names):
        colour, dash = style(name)
        x, y = 80 + (j % columns) * 240, 488 + 16 * (j // columns)
        canvas.line(x, y + 3, x + 30, y + 3, colour, width=2, dash=dash)
        canvas.text(x + 38, y, name)
    with open(path, "wb") as out:
        out.write(canvas.png())
