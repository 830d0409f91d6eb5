#!/usr/bin/env python3
# A reconstruction, not the seed app: issue 14 compares our CPU per photo around inference with
# "the seed stack's" (a Python app on Pillow, openpyxl and zipfile), and that app is not here.
# This does per photo, with that stack, what our pipeline does around inference, the plain way
# such an app would: read the file, decode it (PIL), read EXIF (getexif, the Exif and GPS IFDs),
# apply its orientation (ImageOps.exif_transpose), letterbox it to the model's 1280-px input
# (bilinear resize, grey padding to a multiple of 64) as a float32 CHW array (numpy); then, as
# if the model had found one animal in the centre of every photo (the bench's tiny model boxes
# every Serengeti frame), draw the box and its label (ImageDraw), save a JPEG at quality 90 with
# the EXIF, make an 800-px preview JPEG at quality 75, add both to a zip (stored, as ours stores
# JPEGs) and a row to a write-only openpyxl workbook plus a detections JSON record; at the end
# the workbook and JSON go into the zip. No inference. Single process, single thread.
#
# usage: /usr/bin/python3 bench/seedStack.py <folder> [photos]   (photos: the folder's images
# repeated to that many; default 60). Prints one JSON line: {"photos", "cpuMsPerPhoto", ...}.
import io
import json
import os
import sys
import time
import zipfile
from datetime import datetime

from openpyxl import Workbook
from PIL import Image, ImageDraw, ImageFont, ImageOps

try:
    import numpy as np
except ImportError:  # the array step is skipped and the JSON says so
    np = None

MODEL_SIZE = 1280
STRIDE = 64
PREVIEW_LONG_SIDE = 800
BOX = (0.35, 0.35, 0.65, 0.65)  # one fixed detection: relative left, top, right, bottom
CONFIDENCE = 0.9


class CountingSink(io.RawIOBase):
    """A write-only, unseekable stream that counts bytes (ours zips into a counting sink too)."""

    def __init__(self):
        self.bytes = 0

    def writable(self):
        return True

    def write(self, data):
        self.bytes += len(data)
        return len(data)


def load_font(size):
    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "arial.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            pass
    return ImageFont.load_default()


def letterbox(image):
    width, height = image.size
    ratio = MODEL_SIZE / max(width, height)
    resized_w, resized_h = max(1, round(width * ratio)), max(1, round(height * ratio))
    resized = image.resize((resized_w, resized_h), Image.BILINEAR)
    input_w = -(-resized_w // STRIDE) * STRIDE
    input_h = -(-resized_h // STRIDE) * STRIDE
    canvas = Image.new("RGB", (input_w, input_h), (114, 114, 114))
    canvas.paste(resized, ((input_w - resized_w) // 2, (input_h - resized_h) // 2))
    if np is None:
        return None
    return np.ascontiguousarray(np.asarray(canvas, dtype=np.float32).transpose(2, 0, 1)) / 255.0


def draw_box(image, font):
    width, height = image.size
    left, top, right, bottom = BOX[0] * width, BOX[1] * height, BOX[2] * width, BOX[3] * height
    draw = ImageDraw.Draw(image)
    draw.rectangle((left, top, right, bottom), outline=(255, 0, 0), width=4)
    text = f"animal: {round(100 * CONFIDENCE)}%"
    text_box = draw.textbbox((left, top), text, font=font)
    label_top = top - (text_box[3] - text_box[1]) - 8
    draw.rectangle((left, label_top, left + (text_box[2] - text_box[0]) + 8, top), fill=(255, 0, 0))
    draw.text((left + 4, label_top + 2), text, fill=(0, 0, 0), font=font)


def text(value):
    """EXIF strings often end in NULs, which a workbook cell refuses."""
    return value.strip("\0 ").replace("\0", "") if isinstance(value, str) else value


def when(value):
    try:
        return datetime.strptime(text(value), "%Y:%m:%d %H:%M:%S")
    except (TypeError, ValueError):
        return None


def images_in(folder):
    names = sorted(n for n in os.listdir(folder) if os.path.splitext(n)[1].lower() in (".jpg", ".jpeg", ".png", ".webp"))
    return [os.path.join(folder, n) for n in names]


def main():
    folder = sys.argv[1]
    photos = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    files = images_in(folder)
    if not files:
        sys.exit(f"no images in {folder}")
    font = load_font(32)
    sink = CountingSink()

    cpu_start = time.process_time()
    wall_start = time.perf_counter()
    archive = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Images")
    sheet.append(["file", "width", "height", "datetime", "make", "model", "latitude", "longitude", "detections", "max confidence", "category"])
    records = []
    for i in range(photos):
        path = files[i % len(files)]
        name = f"card_{i // len(files)}/{os.path.basename(path)}"
        with open(path, "rb") as f:
            data = f.read()
        image = Image.open(io.BytesIO(data))
        exif = image.getexif()
        exif_ifd = exif.get_ifd(0x8769)
        gps = exif.get_ifd(0x8825)
        taken = when(exif_ifd.get(0x9003) or exif.get(0x0132))
        image = ImageOps.exif_transpose(image)  # decodes; a copy when there is nothing to turn
        if image.mode != "RGB":
            image = image.convert("RGB")
        letterbox(image)

        draw_box(image, font)
        boxed = io.BytesIO()
        image.save(boxed, "JPEG", quality=90, exif=image.info.get("exif", b""))  # the EXIF as read, orientation reset by exif_transpose
        archive.writestr(zipfile.ZipInfo(f"images/{name}"), boxed.getvalue(), compress_type=zipfile.ZIP_STORED)
        preview = image.copy()
        preview.thumbnail((PREVIEW_LONG_SIDE, PREVIEW_LONG_SIDE))
        small = io.BytesIO()
        preview.save(small, "JPEG", quality=75)
        archive.writestr(zipfile.ZipInfo(f"previews/{name}"), small.getvalue(), compress_type=zipfile.ZIP_STORED)

        width, height = image.size
        latitude = gps.get(2)
        longitude = gps.get(4)
        sheet.append([name, width, height, taken, text(exif.get(0x010F)), text(exif.get(0x0110)), str(latitude) if latitude else None, str(longitude) if longitude else None, 1, CONFIDENCE, "animal"])
        records.append({"file": name, "width": width, "height": height, "datetime": taken.isoformat() if taken else None, "detections": [{"category": "1", "conf": CONFIDENCE, "bbox": [BOX[0], BOX[1], BOX[2] - BOX[0], BOX[3] - BOX[1]]}]})

    xlsx = io.BytesIO()
    workbook.save(xlsx)
    archive.writestr(zipfile.ZipInfo("results.xlsx"), xlsx.getvalue(), compress_type=zipfile.ZIP_STORED)
    archive.writestr("detections.json", json.dumps({"images": records}), compress_type=zipfile.ZIP_DEFLATED)
    archive.close()
    cpu_ms = (time.process_time() - cpu_start) * 1000
    wall_ms = (time.perf_counter() - wall_start) * 1000

    print(json.dumps({
        "photos": photos,
        "cpuMsPerPhoto": cpu_ms / photos,
        "wallMsPerPhoto": wall_ms / photos,
        "zipBytes": sink.bytes,
        "array": np is not None,
        "pillow": Image.__version__,
    }))


if __name__ == "__main__":
    main()
