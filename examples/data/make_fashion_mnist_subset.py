#!/usr/bin/python3
"""Make a small folder-per-class PNG subset of Fashion-MNIST.

Reads the IDX files shipped by the Debian package ``dataset-fashion-mnist``
(``apt-get install dataset-fashion-mnist``; files in
/usr/share/datasets/fashion-mnist, gzipped or not) and writes an image tree in
the torchvision ImageFolder layout::

    OUT/train/<Class>/0001.png ... (first --train-per-class images of each
                                    class of the train split, in file order)
    OUT/test/<Class>/0001.png  ... (first --test-per-class images of each
                                    class of the test split, in file order)

Each image is a 28x28 8-bit grayscale PNG. The output is deterministic: a
rerun with the same arguments produces byte-identical files. Only the class
folders under OUT/train and OUT/test are managed: stale *.png files there are
removed, anything else in OUT (README, LICENSE, ...) is left alone.

Standard library only; run with /usr/bin/python3.
"""

import argparse
import gzip
import os
import struct
import sys
import zlib

DEFAULT_SOURCE = "/usr/share/datasets/fashion-mnist"
DEBIAN_PACKAGE = "dataset-fashion-mnist"

# Label 0..9 -> folder name (file-system safe forms of the official names).
CLASS_NAMES = [
    "T-shirt_top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle_boot",
]

IDX_LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension
IDX_IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
ROWS = COLS = 28

SPLITS = (
    # (output folder, IDX file prefix)
    ("train", "train"),
    ("test", "t10k"),
)


class SubsetError(Exception):
    """A problem with the input files or arguments, reported without a traceback."""


def find_idx_file(source, stem):
    """Return the path of SOURCE/STEM or SOURCE/STEM.gz, whichever exists."""
    for name in (stem, stem + ".gz"):
        path = os.path.join(source, name)
        if os.path.isfile(path):
            return path
    hint = ""
    if os.path.abspath(source) == DEFAULT_SOURCE:
        hint = " (install it with: apt-get install %s)" % DEBIAN_PACKAGE
    raise SubsetError(
        "IDX file not found: %s or %s.gz%s"
        % (os.path.join(source, stem), os.path.join(source, stem), hint)
    )


def read_bytes(path):
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise SubsetError("cannot read %s: %s" % (path, e))


def read_idx_labels(path):
    data = read_bytes(path)
    if len(data) < 8:
        raise SubsetError("%s: too short for an IDX label header (%d bytes)" % (path, len(data)))
    magic, count = struct.unpack(">II", data[:8])
    if magic != IDX_LABELS_MAGIC:
        raise SubsetError(
            "%s: bad IDX label magic number 0x%08x (expected 0x%08x)"
            % (path, magic, IDX_LABELS_MAGIC)
        )
    if len(data) != 8 + count:
        raise SubsetError(
            "%s: header says %d labels, so %d bytes expected, file has %d"
            % (path, count, 8 + count, len(data))
        )
    labels = data[8:]
    bad = [i for i, v in enumerate(labels) if v >= len(CLASS_NAMES)]
    if bad:
        raise SubsetError(
            "%s: label %d at index %d is outside 0..%d"
            % (path, labels[bad[0]], bad[0], len(CLASS_NAMES) - 1)
        )
    return labels


def read_idx_images(path):
    data = read_bytes(path)
    if len(data) < 16:
        raise SubsetError("%s: too short for an IDX image header (%d bytes)" % (path, len(data)))
    magic, count, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != IDX_IMAGES_MAGIC:
        raise SubsetError(
            "%s: bad IDX image magic number 0x%08x (expected 0x%08x)"
            % (path, magic, IDX_IMAGES_MAGIC)
        )
    if (rows, cols) != (ROWS, COLS):
        raise SubsetError(
            "%s: images are %dx%d, expected %dx%d" % (path, rows, cols, ROWS, COLS)
        )
    expected = 16 + count * rows * cols
    if len(data) != expected:
        raise SubsetError(
            "%s: header says %d images of %dx%d, so %d bytes expected, file has %d"
            % (path, count, rows, cols, expected, len(data))
        )
    return count, memoryview(data)[16:]


def png_chunk(kind, payload):
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def encode_gray_png(pixels, width, height):
    """Encode WIDTH x HEIGHT 8-bit grayscale PIXELS (row-major bytes) as a PNG."""
    raw = b"".join(
        b"\x00" + bytes(pixels[y * width:(y + 1) * width]) for y in range(height)
    )  # filter type 0 (None) on every row
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit, gray, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(raw, 9))
        + png_chunk(b"IEND", b"")
    )


def write_atomic(path, content):
    """Write CONTENT to PATH via a temporary file and os.replace.

    An existing file with identical content is left untouched."""
    try:
        with open(path, "rb") as f:
            if f.read() == content:
                return False
    except FileNotFoundError:
        pass
    tmp = os.path.join(
        os.path.dirname(path), ".%s.tmp-%d" % (os.path.basename(path), os.getpid())
    )
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return True


def select_split(source, prefix, per_class):
    """Validate one split's IDX files; return the chosen images, per class.

    Result: list indexed by label of lists of 28*28-byte pixel buffers, the
    first PER_CLASS images of that class in file order."""
    labels_path = find_idx_file(source, "%s-labels-idx1-ubyte" % prefix)
    images_path = find_idx_file(source, "%s-images-idx3-ubyte" % prefix)
    labels = read_idx_labels(labels_path)
    count, pixels = read_idx_images(images_path)
    if count != len(labels):
        raise SubsetError(
            "%s has %d images but %s has %d labels"
            % (images_path, count, labels_path, len(labels))
        )

    # First PER_CLASS indices of each class, in file order.
    chosen = [[] for _ in CLASS_NAMES]
    for index, label in enumerate(labels):
        if len(chosen[label]) < per_class:
            chosen[label].append(index)
    for label, indices in enumerate(chosen):
        if len(indices) < per_class:
            raise SubsetError(
                "%s: only %d images of class %d (%s), %d requested"
                % (labels_path, len(indices), label, CLASS_NAMES[label], per_class)
            )

    size = ROWS * COLS
    return [[pixels[i * size:(i + 1) * size] for i in indices] for indices in chosen]


def write_split(out_dir, split_dir, images_by_class):
    written = 0
    for label, images in enumerate(images_by_class):
        class_dir = os.path.join(out_dir, split_dir, CLASS_NAMES[label])
        os.makedirs(class_dir, exist_ok=True)
        wanted = set()
        for number, image in enumerate(images, start=1):
            name = "%04d.png" % number
            wanted.add(name)
            png = encode_gray_png(image, COLS, ROWS)
            if write_atomic(os.path.join(class_dir, name), png):
                written += 1
        for name in sorted(os.listdir(class_dir)):
            if name.endswith(".png") and name not in wanted:
                os.unlink(os.path.join(class_dir, name))
    return written


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(
        description="Write a small folder-per-class PNG subset of Fashion-MNIST "
        "(first N images of each class, in file order)."
    )
    parser.add_argument(
        "--source",
        default=DEFAULT_SOURCE,
        help="folder with the IDX files (train-/t10k-{images-idx3,labels-idx1}-ubyte[.gz]); "
        "default: %(default)s, from the Debian package " + DEBIAN_PACKAGE,
    )
    parser.add_argument(
        "--out",
        default=os.path.join(here, "fashion-mnist-small"),
        help="output root (default: fashion-mnist-small next to this script)",
    )
    parser.add_argument("--train-per-class", type=int, default=200, metavar="N",
                        help="images per class from the train split (default: %(default)s)")
    parser.add_argument("--test-per-class", type=int, default=50, metavar="N",
                        help="images per class from the test split (default: %(default)s)")
    args = parser.parse_args(argv)

    for option, value in (("--train-per-class", args.train_per_class),
                          ("--test-per-class", args.test_per_class)):
        if not 0 <= value <= 9999:
            parser.error("%s must be between 0 and 9999, got %d" % (option, value))

    try:
        # Read and validate every input file before writing anything.
        selected = [
            (split_dir, per_class, select_split(args.source, prefix, per_class))
            for (split_dir, prefix), per_class in zip(
                SPLITS, (args.train_per_class, args.test_per_class)
            )
        ]
        for split_dir, per_class, images_by_class in selected:
            written = write_split(args.out, split_dir, images_by_class)
            print(
                "%s: %d classes x %d images -> %s (%d files written/updated)"
                % (split_dir, len(CLASS_NAMES), per_class,
                   os.path.join(args.out, split_dir), written)
            )
    except SubsetError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
