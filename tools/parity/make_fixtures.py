#!/usr/bin/python3
"""Reference fixtures for Lightweight.ML's PyTorch parity tests (Lightweight.ML.Tests/Export/ParityTests.cs).

For each model: build it in PyTorch with a small class count, give it fixed random weights and random batch-norm
running statistics from a seed (so eval-mode batch norm matters), round every float to a value exactly representable
in float16, run fixed inputs in eval mode and write two safetensors files:

  NAME.safetensors     the state_dict (torchvision/timm key names; floats stored as F16, num_batches_tracked as I64)
  NAME.io.safetensors  "input" [2, 3, 64, 64] F32, "logits" [2, 10] F32 (PyTorch float32, eval mode) and
                       "logits_f64" F64 (the same network run in float64, to show float32's own noise)

Models: torchvision 0.14's shufflenet_v2_x0_5/x1_0/x1_5/x2_0 and mobilenet_v2 (width 1.0 and 0.5), and GhostNet v1
(ghostnet_050/100/130) from the transcription of timm's ghostnet.py below.

Usage (Debian's python: /usr/bin/python3 with torch 1.13 and torchvision 0.14):
  make_fixtures.py                      the committed fixtures -> Lightweight.ML.Tests/Fixtures/parity/
  make_fixtures.py --all --out DIR      every variant -> DIR (then: LWML_PARITY_DIR=DIR dotnet test ... ParityTests)
  make_fixtures.py --models a,b --out DIR
  make_fixtures.py --verify DIR         for every NAME.io.safetensors in DIR: load NAME.safetensors into the PyTorch
                                        model, run "input", compare with "logits" (e.g. files written by C#)
The python `safetensors` package is not needed: this file has its own small reader and writer.
"""
import argparse
import copy
import json
import math
import os
import sys
import tempfile
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

NUM_CLASSES = 10
INPUT_SHAPE = (2, 3, 64, 64)
BASE_SEED = 20240607
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMMITTED_DIR = os.path.join(REPO, "Lightweight.ML.Tests", "Fixtures", "parity")

# ----------------------------------------------------------------------------------------------------------------------
# safetensors: 8-byte little-endian header length, JSON header, raw little-endian data
# ----------------------------------------------------------------------------------------------------------------------

DTYPES = {  # torch dtype -> (safetensors name, bytes per element)
    torch.float64: ("F64", 8), torch.float32: ("F32", 4), torch.float16: ("F16", 2), torch.bfloat16: ("BF16", 2),
    torch.int64: ("I64", 8), torch.int32: ("I32", 4), torch.int16: ("I16", 2), torch.int8: ("I8", 1),
    torch.uint8: ("U8", 1), torch.bool: ("BOOL", 1),
}
BY_NAME = {name: (dtype, size) for dtype, (name, size) in DTYPES.items()}
assert sys.byteorder == "little", "the raw tensor bytes are written in native order"


def tensor_bytes(t):
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: reinterpret the bits
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor} in the given order; the header is padded with spaces to a multiple of 8; atomic."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        data = tensor_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype][0], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=os.path.basename(path), suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(len(text).to_bytes(8, "little"))
            f.write(text)
            for data in blobs:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


def read_safetensors(path):
    """Returns ({name: tensor}, metadata), checking lengths and offsets."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: {len(raw)} bytes, too short for a safetensors file")
    n = int.from_bytes(raw[:8], "little")
    if n > len(raw) - 8:
        raise ValueError(f"{path}: header length {n} exceeds the file")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    metadata = header.pop("__metadata__", {})
    tensors, end = {}, 0
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        dtype, size = BY_NAME[e["dtype"]]
        begin, stop = e["data_offsets"]
        if begin != end or stop - begin != math.prod(e["shape"]) * size:
            raise ValueError(f"{path}: bad data_offsets for {name}")
        end = stop
        tensors[name] = torch.frombuffer(bytearray(data[begin:stop]), dtype=dtype).reshape(e["shape"]) \
            if stop > begin else torch.empty(e["shape"], dtype=dtype)
    if end != len(data):
        raise ValueError(f"{path}: {len(data) - end} bytes after the last tensor")
    return tensors, metadata


# ----------------------------------------------------------------------------------------------------------------------
# GhostNet v1 as timm builds it (timm/models/ghostnet.py @ 7479d451, version='v1'; SqueezeExcite and ConvBnAct from
# _efficientnet_blocks.py, make_divisible from layers/helpers.py). Written from reading that source: same topology and
# module names, so the state_dict keys are timm's (ghostnet_050 / ghostnet_100 / ghostnet_130).
# ----------------------------------------------------------------------------------------------------------------------

def make_divisible(v, divisor=4, round_limit=0.9):
    """Nearest multiple of divisor, at least divisor, one step up if rounding lost more than 10 %."""
    rounded = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < round_limit * v else rounded


def conv_bn(cin, cout, k, stride=1, groups=1, relu=False):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return layers + [nn.ReLU(inplace=True) if relu else nn.Identity()]


class GhostModule(nn.Module):
    """Half the channels from a 1x1 conv (primary_conv), the other half by a depthwise 3x3 of those (cheap_operation)."""

    def __init__(self, cin, cout, relu):
        super().__init__()
        self.out_chs = cout
        init = math.ceil(cout / 2)
        self.primary_conv = nn.Sequential(*conv_bn(cin, init, 1, relu=relu))
        self.cheap_operation = nn.Sequential(*conv_bn(init, init, 3, groups=init, relu=relu))

    def forward(self, x):
        a = self.primary_conv(x)
        return torch.cat([a, self.cheap_operation(a)], 1)[:, :self.out_chs]


class SqueezeExcite(nn.Module):
    """timm's SE with ReLU, hard-sigmoid gate, reduced width make_divisible(c * ratio, 4)."""

    def __init__(self, channels, ratio):
        super().__init__()
        reduced = make_divisible(channels * ratio, 4)
        self.conv_reduce = nn.Conv2d(channels, reduced, 1)
        self.conv_expand = nn.Conv2d(reduced, channels, 1)

    def forward(self, x):
        s = F.relu(self.conv_reduce(x.mean((2, 3), keepdim=True)))
        return x * F.hardsigmoid(self.conv_expand(s))


class GhostBottleneck(nn.Module):
    def __init__(self, cin, mid, cout, k, stride, se_ratio):
        super().__init__()
        self.ghost1 = GhostModule(cin, mid, relu=True)
        self.conv_dw = nn.Conv2d(mid, mid, k, stride, (k - 1) // 2, groups=mid, bias=False) if stride > 1 else None
        self.bn_dw = nn.BatchNorm2d(mid) if stride > 1 else None
        self.se = SqueezeExcite(mid, se_ratio) if se_ratio > 0 else None
        self.ghost2 = GhostModule(mid, cout, relu=False)
        if cin == cout and stride == 1:
            self.shortcut = nn.Sequential()
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cin, k, stride, (k - 1) // 2, groups=cin, bias=False), nn.BatchNorm2d(cin),
                nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.ghost1(x)
        if self.conv_dw is not None:
            y = self.bn_dw(self.conv_dw(y))
        if self.se is not None:
            y = self.se(y)
        return self.ghost2(y) + self.shortcut(x)


class ConvBnAct(nn.Module):
    """timm's ConvBnAct(k=1): conv (no bias) -> bn1 (BatchNormAct2d: BN then ReLU)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn1(self.conv(x)))


GHOSTNET_CFGS = [
    # k, t (mid), c (out), SE ratio, s -- one inner list per blocks.{i} stage, as timm's cfgs
    [[3, 16, 16, 0, 1]],
    [[3, 48, 24, 0, 2]], [[3, 72, 24, 0, 1]],
    [[5, 72, 40, 0.25, 2]], [[5, 120, 40, 0.25, 1]],
    [[3, 240, 80, 0, 2]],
    [[3, 200, 80, 0, 1], [3, 184, 80, 0, 1], [3, 184, 80, 0, 1], [3, 480, 112, 0.25, 1], [3, 672, 112, 0.25, 1]],
    [[5, 672, 160, 0.25, 2]],
    [[5, 960, 160, 0, 1], [5, 960, 160, 0.25, 1], [5, 960, 160, 0, 1], [5, 960, 160, 0.25, 1]],
]


class GhostNet(nn.Module):
    def __init__(self, num_classes=1000, width=1.0, in_chans=3, drop_rate=0.2):
        super().__init__()
        self.drop_rate = drop_rate
        stem = make_divisible(16 * width)
        self.conv_stem = nn.Conv2d(in_chans, stem, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        stages, prev = [], stem
        for cfg in GHOSTNET_CFGS:
            layers = []
            for k, t, c, se, s in cfg:
                out = make_divisible(c * width)
                layers.append(GhostBottleneck(prev, make_divisible(t * width), out, k, s, se))
                prev = out
            stages.append(nn.Sequential(*layers))
        pool = make_divisible(GHOSTNET_CFGS[-1][-1][1] * width)
        stages.append(nn.Sequential(ConvBnAct(prev, pool)))
        self.blocks = nn.Sequential(*stages)
        self.conv_head = nn.Conv2d(pool, 1280, 1, bias=True)
        self.classifier = nn.Linear(1280, num_classes)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn1(self.conv_stem(x))))
        x = F.relu(self.conv_head(x.mean((2, 3), keepdim=True))).flatten(1)
        if self.drop_rate > 0:
            x = F.dropout(x, self.drop_rate, self.training)
        return self.classifier(x)


# ----------------------------------------------------------------------------------------------------------------------
# Models and fixtures
# ----------------------------------------------------------------------------------------------------------------------

tv = torchvision.models
MODELS = {  # name -> builder(num_classes); every one is the upstream code path, only the class count is small
    "shufflenet_v2_x0_5": lambda n: tv.shufflenet_v2_x0_5(num_classes=n),
    "shufflenet_v2_x1_0": lambda n: tv.shufflenet_v2_x1_0(num_classes=n),
    "shufflenet_v2_x1_5": lambda n: tv.shufflenet_v2_x1_5(num_classes=n),
    "shufflenet_v2_x2_0": lambda n: tv.shufflenet_v2_x2_0(num_classes=n),
    "mobilenet_v2": lambda n: tv.mobilenet_v2(num_classes=n),
    "mobilenet_v2_050": lambda n: tv.mobilenet_v2(num_classes=n, width_mult=0.5),
    "ghostnet_050": lambda n: GhostNet(n, width=0.5),
    "ghostnet_100": lambda n: GhostNet(n, width=1.0),
    "ghostnet_130": lambda n: GhostNet(n, width=1.3),
}
COMMITTED = ["shufflenet_v2_x0_5", "mobilenet_v2_050", "ghostnet_050"]


def randomize(model, gen):
    """He-normal conv/linear weights, small biases, BN affine around 1/0, then BN running statistics measured on random
    batches (so activations stay O(1) through the depth) and perturbed (so they differ from batch statistics)."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                gain = 2.0 if isinstance(m, nn.Conv2d) else 1.0
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * math.sqrt(gain / fan_in))
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.2)
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average
        model.train()
        for _ in range(4):
            model(torch.randn(8, *INPUT_SHAPE[1:], generator=gen))
        model.eval()
        for m in norms:
            m.momentum = 0.1
            m.running_mean += torch.randn(m.running_mean.shape, generator=gen) * 0.2 * m.running_var.sqrt()
            m.running_var *= torch.exp(torch.randn(m.running_var.shape, generator=gen) * 0.3)
            m.num_batches_tracked.fill_(int(torch.randint(1, 100000, (1,), generator=gen)))
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(t.half().float())  # exactly representable in float16: stored as F16 without loss


def make_fixture(name, out_dir):
    gen = torch.Generator().manual_seed(BASE_SEED + zlib.crc32(name.encode()))
    torch.manual_seed(0)
    model = MODELS[name](NUM_CLASSES)
    randomize(model, gen)
    x = torch.randn(INPUT_SHAPE, generator=gen).half().float()
    model.eval()
    with torch.no_grad():
        logits = model(x)
        logits64 = copy.deepcopy(model).double()(x.double())
        batch_stats = copy.deepcopy(model)
        for m in batch_stats.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.train()
        bn_effect = (batch_stats(x) - logits).abs().max().item()
    meta = {"model": name, "num_classes": NUM_CLASSES, "torch": torch.__version__, "torchvision": torchvision.__version__,
            "script": "tools/parity/make_fixtures.py"}
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    write_safetensors(os.path.join(out_dir, name + ".safetensors"), state, meta)
    write_safetensors(os.path.join(out_dir, name + ".io.safetensors"),
                      {"input": x, "logits": logits, "logits_f64": logits64}, meta)
    size = os.path.getsize(os.path.join(out_dir, name + ".safetensors"))
    print(f"{name:20s} {sum(v.numel() for v in state.values()):>9,d} values  {size / 2**20:6.2f} MiB  "
          f"max|logit| {logits.abs().max().item():6.3f}  logit std {logits.std().item():5.3f}  "
          f"|f32-f64| {(logits.double() - logits64).abs().max().item():.2e}  "
          f"eval-vs-batch-stats BN {bn_effect:.3f}")


def verify(folder):
    """Loads NAME.safetensors into the PyTorch model for every NAME.io.safetensors in folder; compares logits."""
    worst, found = 0.0, 0
    for io_file in sorted(f for f in os.listdir(folder) if f.endswith(".io.safetensors")):
        name = io_file[:-len(".io.safetensors")]
        io, meta = read_safetensors(os.path.join(folder, io_file))
        weights, _ = read_safetensors(os.path.join(folder, name + ".safetensors"))
        model = MODELS[meta.get("model", name)](int(meta.get("num_classes", NUM_CLASSES)))
        model.load_state_dict(weights, strict=True)
        model.eval()
        with torch.no_grad():
            logits = model(io["input"].float())
        diff = (logits - io["logits"].float()).abs().max().item()
        dtypes = sorted({str(t.dtype).replace("torch.", "") for t in weights.values()})
        print(f"{name:20s} weights {'/'.join(dtypes):15s} max |PyTorch - file logits| = {diff:.3e}")
        worst, found = max(worst, diff), found + 1
    if found == 0:
        sys.exit(f"no *.io.safetensors in {folder}")
    print(f"{found} model(s), worst {worst:.3e}")
    sys.exit(0 if worst < 1e-4 else 1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--all", action="store_true", help="every variant, not only the committed ones")
    p.add_argument("--models", help="comma-separated names: " + ", ".join(MODELS))
    p.add_argument("--out", help=f"output folder (default: {os.path.relpath(COMMITTED_DIR, REPO)})")
    p.add_argument("--verify", metavar="DIR", help="check NAME.safetensors against NAME.io.safetensors in DIR")
    a = p.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    if a.verify:
        verify(a.verify)
    names = list(MODELS) if a.all else a.models.split(",") if a.models else COMMITTED
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        p.error(f"unknown model(s) {unknown}; known: {', '.join(MODELS)}")
    out = a.out or COMMITTED_DIR
    for name in names:
        make_fixture(name, out)


if __name__ == "__main__":
    main()
