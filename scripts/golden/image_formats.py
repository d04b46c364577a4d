"""Writes the small image files Tests/DatasetsTests/Golden/ holds: one per JPEG / PNG variant the
decoders must handle, each 16x12 px with a known pattern (PIL writes them, so the files come from
an independent encoder). Run: ~/torch-venv/bin/python scripts/golden/image_formats.py
"""
import os
import numpy as np
from PIL import Image

out = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "DatasetsTests", "Golden")
os.makedirs(out, exist_ok=True)
w, h = 16, 12
x, y = np.meshgrid(np.arange(w), np.arange(h))
rgb = np.stack([x * 16, y * 20, (x + y) * 8], axis=-1).astype(np.uint8)   # smooth ramps survive JPEG

Image.fromarray(rgb).save(f"{out}/rgb.jpg", quality=95)
Image.fromarray(rgb[..., 0]).save(f"{out}/gray.jpg", quality=95)
Image.fromarray(rgb).convert("CMYK").save(f"{out}/cmyk.jpg", quality=95)   # Adobe APP14, inverted CMYK
Image.fromarray(rgb).save(f"{out}/rgb.png")
rgba = np.concatenate([rgb, np.full((h, w, 1), 128, np.uint8)], axis=-1)
Image.fromarray(rgba, "RGBA").save(f"{out}/rgba.png")
Image.fromarray(rgb[..., 1]).save(f"{out}/gray.png")
Image.fromarray((rgb[..., 1].astype(np.uint16) * 257)).save(f"{out}/gray16.png")
la = np.stack([rgb[..., 1], np.full((h, w), 200, np.uint8)], axis=-1)
Image.fromarray(la, "LA").save(f"{out}/gray_alpha.png")
# 2-bit paletted: indices 0..3 in a checker of 4x4 blocks.
idx = (((x // 4) + (y // 4)) % 4).astype(np.uint8)
p = Image.fromarray(idx, "P")
p.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
p.save(f"{out}/paletted2bit.png", bits=2)
for name in sorted(os.listdir(out)):
    im = Image.open(f"{out}/{name}")
    print(name, im.mode, im.size, os.path.getsize(f"{out}/{name}"))
