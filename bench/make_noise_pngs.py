#!/usr/bin/python3
"""Write a folder of random RGB PNGs in the torchvision ImageFolder layout, for the 224 px speed benchmarks:

    OUT/train/class_00/0001.png ... (--train-per-class per class)
    OUT/test/class_00/0001.png  ... (--test-per-class per class)

Every image is SIZE x SIZE RGB (default 224): coarse random colour blobs (a 14 x 14 grid upscaled bicubically) plus
fine pixel noise, so a PNG is about as large and slow to decode as a photo saved as PNG (roughly 100 KB at 224 px),
unlike pure noise (incompressible) or flat images (tiny). The content is meaningless; only decoding cost matters.
Deterministic for given arguments (seeded per file). Needs numpy and Pillow (Debian's /usr/bin/python3 has both).
"""
import argparse
import os
import zlib

import numpy as np
from PIL import Image


def make_image(rng, size):
    coarse = Image.fromarray(rng.integers(0, 256, (14, 14, 3), dtype=np.uint8)).resize((size, size), Image.BICUBIC)
    pixels = np.asarray(coarse).astype(np.int16) + rng.integers(-12, 13, (size, size, 3), dtype=np.int16)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--train-per-class", type=int, default=50)
    p.add_argument("--test-per-class", type=int, default=20)
    a = p.parse_args()
    written = 0
    for split, count in (("train", a.train_per_class), ("test", a.test_per_class)):
        for c in range(a.classes):
            folder = os.path.join(a.out, split, f"class_{c:02d}")
            os.makedirs(folder, exist_ok=True)
            for i in range(1, count + 1):
                path = os.path.join(folder, f"{i:04d}.png")
                if os.path.exists(path):
                    continue  # already made by an earlier run with the same arguments
                rng = np.random.default_rng(zlib.crc32(f"{split}/{c}/{i}/{a.size}".encode()))
                temp = path + ".tmp"
                make_image(rng, a.size).save(temp, format="PNG")
                os.replace(temp, path)
                written += 1
    print(f"{a.out}: {a.classes} classes, {a.train_per_class} train + {a.test_per_class} test images per class at "
          f"{a.size} px ({written} written)")


if __name__ == "__main__":
    main()
