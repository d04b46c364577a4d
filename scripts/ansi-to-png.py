#!/usr/bin/env python3
"""Renders terminal output with ANSI colours (e.g. `tmux capture-pane -e -p`) to a PNG, to look
at a screen as a person would. Development aid only: the product and the tests never need it.

    tmux capture-pane -e -p -t SESSION > screen.ans
    /root/torch-venv/bin/python scripts/ansi-to-png.py screen.ans screen.png

Understands SGR 0/1/2/7, 30–37/90–97/40–47/100–107, 38;5;n / 48;5;n and 38;2;r;g;b / 48;2;r;g;b.
"""
import re
import sys

from PIL import Image, ImageDraw, ImageFont

ANSI16 = [(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
          (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255)]
LEVELS = [0, 95, 135, 175, 215, 255]
DEFAULT_FG, DEFAULT_BG = (220, 220, 220), (24, 24, 24)


def color256(n):
    if n < 16:
        return ANSI16[n]
    if n < 232:
        n -= 16
        return (LEVELS[n // 36], LEVELS[n // 6 % 6], LEVELS[n % 6])
    v = 8 + 10 * (n - 232)
    return (v, v, v)


def parse(text):
    rows = []
    for line in text.split("\n"):
        fg, bg, bold, reverse = None, None, False, False
        cells = []
        for token in re.split(r"(\x1b\[[0-9;]*m)", line):
            if token.startswith("\x1b["):
                ps = [int(p) if p else 0 for p in token[2:-1].split(";")]
                i = 0
                while i < len(ps):
                    p = ps[i]
                    if p == 0:
                        fg, bg, bold, reverse = None, None, False, False
                    elif p == 1:
                        bold = True
                    elif p == 7:
                        reverse = True
                    elif p in (22,):
                        bold = False
                    elif p == 27:
                        reverse = False
                    elif 30 <= p <= 37:
                        fg = ANSI16[p - 30]
                    elif 90 <= p <= 97:
                        fg = ANSI16[p - 90 + 8]
                    elif 40 <= p <= 47:
                        bg = ANSI16[p - 40]
                    elif 100 <= p <= 107:
                        bg = ANSI16[p - 100 + 8]
                    elif p == 39:
                        fg = None
                    elif p == 49:
                        bg = None
                    elif p in (38, 48):
                        if ps[i + 1] == 5:
                            c = color256(ps[i + 2])
                            i += 2
                        else:
                            c = tuple(ps[i + 2:i + 5])
                            i += 4
                        if p == 38:
                            fg = c
                        else:
                            bg = c
                    i += 1
            else:
                for ch in token:
                    f, b = fg or DEFAULT_FG, bg or DEFAULT_BG
                    if reverse:
                        f, b = b, f
                    cells.append((ch, f, b, bold))
        rows.append(cells)
    return rows


def main():
    src, dst = sys.argv[1], sys.argv[2]
    rows = parse(open(src, encoding="utf-8").read())
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 14)
    cw, ch = 9, 18
    width = max((len(r) for r in rows), default=1)
    img = Image.new("RGB", (width * cw, len(rows) * ch), DEFAULT_BG)
    d = ImageDraw.Draw(img)
    for y, row in enumerate(rows):
        for x, (c, f, b, bold) in enumerate(row):
            x0, y0 = x * cw, y * ch
            if c == "\u2580":  # upper half block: exact halves, not the font's glyph
                d.rectangle([x0, y0, x0 + cw - 1, y0 + ch // 2 - 1], fill=f)
                d.rectangle([x0, y0 + ch // 2, x0 + cw - 1, y0 + ch - 1], fill=b)
                continue
            d.rectangle([x0, y0, x0 + cw - 1, y0 + ch - 1], fill=b)
            if c == "\u2588":
                d.rectangle([x0, y0, x0 + cw - 1, y0 + ch - 1], fill=f)
            elif c != " ":
                d.text((x0, y0), c, font=font, fill=f)
    img.save(dst)


if __name__ == "__main__":
    main()
