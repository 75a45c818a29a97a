#!/usr/bin/python3
"""PyTorch side of Lightweight.ML's speed benchmarks (issue 6): the subcommands of bench/Speed with the same options and
the same JSON fields, one JSON line per measurement on stdout (notes on stderr). bench/run_speed.py runs both pairwise.

  fit      training throughput from the PNG folder DIR/train: ImageFolder + transforms + DataLoader, decoding included
           (--workers N DataLoader workers; --cache decodes every image once into a uint8 tensor first, as ours does)
  raw      the training step alone on tensors made in advance
  score    batch scoring of DIR/test (eval() + inference_mode, DataLoader), and the raw batched forward
  onnx     our exported ONNX file (--onnx, from `Speed onnx --keep`) in onnxruntime if installed; otherwise only loaded
           and checked with the onnx package
  latency  one image at a time: file -> PIL -> transforms -> forward -> probabilities, and the raw batch-1 forward
  memory   resident memory (this process, and DataLoader workers) after every epoch of a fit, and the peak

Same model, batch, input size and threads as ours: ShuffleNetV2 from torchvision, GhostNet from the transcription of
timm's ghostnet.py in tools/parity/make_fixtures.py (imported, not copied), MobileNetV2 from torchvision. At 64 px or
less both sides use the small-input stem (stride-1 first convolution, no max-pool), as Lightweight.ML does by default
(--stem small|imagenet to force). Training: SGD with Nesterov momentum 0.9, lr 0.1 x batch / 256, weight decay 4e-5 on
conv/linear weights only, label smoothing 0.1, the loss and the batch accuracy read back every step, as ours.

Run with Debian's python (torch 1.13, torchvision 0.14):  /usr/bin/python3 bench/pytorch/speed.py fit --data DIR ...
Debian's torch uses whatever libblas.so.3 resolves to (netlib's reference BLAS on the project machine: several times
slower); bench/run_speed.py gives it OpenBLAS through LD_LIBRARY_PATH. Every JSON line names the BLAS library loaded.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision import transforms
from torchvision.datasets import ImageFolder

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools", "parity"))
import make_fixtures  # noqa: E402  (GhostNet v1 as timm builds it)

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]  # ImageNet's, the library's default normalisation
BATCHES = 4  # distinct pre-made batches the raw step cycles through


# ----------------------------------------------------------------------------------------------------------------------
# Models: the names of Lightweight.ML's ModelNames
# ----------------------------------------------------------------------------------------------------------------------

def build_model(name, num_classes, small_stem):
    tv = torchvision.models
    family, _, size = name.lower().partition("-")
    if family == "shufflenetv2":
        builders = {"0.5x": tv.shufflenet_v2_x0_5, "1.0x": tv.shufflenet_v2_x1_0, "1.5x": tv.shufflenet_v2_x1_5,
                    "2.0x": tv.shufflenet_v2_x2_0}
        if size not in builders:
            raise SystemExit(f"unknown model {name!r}")
        model = builders[size](num_classes=num_classes)
        if small_stem:
            model.conv1[0].stride = (1, 1)
            model.maxpool = nn.Identity()
    elif family == "ghostnet":
        model = make_fixtures.GhostNet(num_classes, width=float(size))
        if small_stem:
            model.conv_stem.stride = (1, 1)
    elif family == "mobilenetv2":
        model = tv.mobilenet_v2(num_classes=num_classes, width_mult=float(size))
        if small_stem:
            model.features[0][0].stride = (1, 1)
    else:
        raise SystemExit(f"unknown model {name!r}; expected shufflenetv2-<size>x, ghostnet-<width> or mobilenetv2-<width>")
    return model


def small_stem(a):
    return {"auto": a.image_size <= 64, "small": True, "imagenet": False}[a.stem]


def create_sgd(model, batch):
    """SGD as the library's ParameterGroups.CreateSgd: weight decay on conv/linear weights only."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.dim() <= 1 or name.endswith("bias") else decay).append(p)
    lr = 0.1 * batch / 256
    return torch.optim.SGD([{"params": decay, "weight_decay": 4e-5}, {"params": no_decay, "weight_decay": 0.0}],
                           lr=lr, momentum=0.9, nesterov=True), lr


def train_step(model, optimizer, lr, x, y, phases=None):
    """One training step; with `phases` (a list of 4), adds the seconds spent in forward with the loss read back,
    zero_grad + backward, optimizer step, and the rest (learning rate set, batch accuracy read back)."""
    t0 = time.perf_counter()
    for group in optimizer.param_groups:
        group["lr"] = lr  # as the per-step schedule does
    t1 = time.perf_counter()
    logits = model(x)
    loss = F.cross_entropy(logits, y, label_smoothing=0.1)
    loss.item()
    t2 = time.perf_counter()
    optimizer.zero_grad()
    loss.backward()
    t3 = time.perf_counter()
    optimizer.step()
    t4 = time.perf_counter()
    correct = int(logits.argmax(1).eq(y).sum().item())
    if phases is not None:
        for i, dt in enumerate((t2 - t1, t3 - t2, t4 - t3, (t1 - t0) + (time.perf_counter() - t4))):
            phases[i] += dt
    return correct


# ----------------------------------------------------------------------------------------------------------------------
# Output and statistics
# ----------------------------------------------------------------------------------------------------------------------

def emit(bench, impl, a, **values):
    line = {"bench": bench, "side": "pytorch", "impl": impl, "model": a.model, "image_size": a.image_size,
            "batch": a.batch_size, "threads": a.threads, "small_stem": small_stem(a)}
    if hasattr(a, "workers"):
        line["workers"] = a.workers
    if hasattr(a, "cache"):
        line["cache"] = a.cache
    line.update({k: round(v, 4) if isinstance(v, float) else v for k, v in values.items()})
    line["env"] = {
        "malloc_env": {k: v for k, v in sorted(os.environ.items()) if k.startswith("MALLOC_") or k == "LD_PRELOAD"},
        "torch": torch.__version__, "torchvision": torchvision.__version__, "interop_threads": torch.get_num_interop_threads(),
        "cores": os.cpu_count(), "blas_library": blas_library(),
    }
    print(json.dumps(line), flush=True)


def blas_library():
    """The BLAS this process loaded (Debian's torch uses whatever libblas.so.3 resolves to: netlib's reference BLAS is
    many times slower than OpenBLAS for the convolutions that go through GEMM)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.rsplit("/", 1)[-1]}
        return sorted(os.path.realpath(p) for p in paths)
    except OSError:
        return None


def note(message):
    print(message, file=sys.stderr, flush=True)


def percentile(values, percent):
    """Linear interpolation between closest ranks (numpy's default), as the C# side."""
    s = sorted(values)
    if not s:
        return float("nan")
    rank = percent / 100 * (len(s) - 1)
    below = int(rank)
    above = min(below + 1, len(s) - 1)
    return s[below] + (rank - below) * (s[above] - s[below])


def repeat(a, steps, step):
    """Warm-up steps, then --repeats x steps timed ones; images per second of each repeat."""
    for _ in range(a.warmup):
        step()
    rates = []
    for _ in range(a.repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(steps * a.batch_size / (time.perf_counter() - start))
    return rates


def rss_mib(pid="self"):
    return _status_field(pid, "VmRSS:")


def peak_rss_mib():
    return _status_field("self", "VmHWM:")


def _status_field(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return float("nan")


def worker_rss_mib():
    """Summed RSS of this process's children (DataLoader workers); shared pages are counted in each."""
    try:
        import psutil
        return sum(c.memory_info().rss for c in psutil.Process().children(recursive=True)) / 2 ** 20
    except ImportError:
        return float("nan")


# ----------------------------------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------------------------------

def image_transform(size):
    """ImageFolder's loader gives RGB PIL images; squash to size x size (bilinear, antialiased as PIL does), normalise."""
    return transforms.Compose([transforms.Resize((size, size)), transforms.ToTensor(), transforms.Normalize(MEAN, STD)])


def normalize_uint8(x):
    """uint8 [N, 3, S, S] -> normalised float, as the library's ImagePreprocessing.Normalize."""
    scale = torch.tensor([1 / (255 * s) for s in STD]).view(1, 3, 1, 1)
    shift = torch.tensor([m / s for m, s in zip(MEAN, STD)]).view(1, 3, 1, 1)
    return x.float().mul_(scale).sub_(shift)


class CachedImages:
    """Every image decoded and resized once into a uint8 tensor, then batches by index: what Lightweight.ML's trainer does."""

    def __init__(self, folder, size):
        data = ImageFolder(folder, transform=transforms.Compose([transforms.Resize((size, size)), transforms.PILToTensor()]))
        self.images = torch.stack([img for img, _ in data])
        self.labels = torch.tensor(data.targets, dtype=torch.int64)

    def __len__(self):
        return len(self.labels)

    def batches(self, batch, generator):
        order = torch.randperm(len(self.labels), generator=generator)
        for start in range(0, len(order), batch):
            index = order[start:start + batch]
            yield normalize_uint8(self.images.index_select(0, index)), self.labels.index_select(0, index)


def make_loader(folder, a, shuffle, generator=None):
    data = ImageFolder(folder, transform=image_transform(a.image_size))
    return data, torch.utils.data.DataLoader(
        data, batch_size=a.batch_size, shuffle=shuffle, num_workers=a.workers, persistent_workers=a.workers > 0,
        generator=generator)


# ----------------------------------------------------------------------------------------------------------------------
# Subcommands
# ----------------------------------------------------------------------------------------------------------------------

def cmd_fit(a, memory=False):
    folder = os.path.join(a.data, "train")
    classes = len(ImageFolder(folder).classes)
    if a.warmup > 0 and not memory:  # two untimed steps of a throw-away model: kernels and allocator warm
        model = build_model(a.model, classes, small_stem(a))
        optimizer, lr = create_sgd(model, a.batch_size)
        model.train()
        for _ in range(2):
            train_step(model, optimizer, lr, torch.randn(a.batch_size, 3, a.image_size, a.image_size),
                       torch.randint(0, classes, (a.batch_size,)))
    baseline = rss_mib()
    runs = []
    for r in range(1 if memory else a.repeats):
        generator = torch.Generator().manual_seed(1)
        torch.manual_seed(1)
        start = time.perf_counter()
        model = build_model(a.model, classes, small_stem(a))
        optimizer, lr = create_sgd(model, a.batch_size)
        if a.cache:
            data = CachedImages(folder, a.image_size)
            epoch_batches = lambda: data.batches(a.batch_size, generator)  # noqa: E731
        else:
            data, loader = make_loader(folder, a, shuffle=True, generator=generator)
            epoch_batches = lambda: loader  # noqa: E731
        setup = time.perf_counter() - start
        model.train()
        epochs = []
        for epoch in range(a.epochs):
            epoch_start, seen = time.perf_counter(), 0
            for x, y in epoch_batches():
                if len(y) < 2:
                    continue  # as ours: batch norm cannot normalise a single sample
                train_step(model, optimizer, lr, x, y)
                seen += len(y)
            epochs.append({"images_per_s": seen / (time.perf_counter() - epoch_start), "rss_mib": rss_mib(),
                           "workers_rss_mib": worker_rss_mib() if a.workers > 0 else 0.0})
        wall = time.perf_counter() - start
        runs.append({"wall": wall, "setup": setup, "epochs": epochs})
        note(f"fit {a.model} {a.image_size}px repeat {r + 1}: {wall:.1f} s, epochs at "
             + ", ".join(f"{e['images_per_s']:.1f}" for e in epochs) + " img/s")
        del data, model, optimizer
        if not a.cache:
            del loader  # stops persistent workers
    images = len(ImageFolder(folder).samples)
    if memory:
        run = runs[0]
        emit("memory", "dataloader_cached" if a.cache else "dataloader", a, images=images, epochs=a.epochs,
             fit_s=run["wall"], baseline_rss_mib=baseline,
             rss_mib_per_epoch=[round(e["rss_mib"], 1) for e in run["epochs"]],
             workers_rss_mib_per_epoch=[round(e["workers_rss_mib"], 1) for e in run["epochs"]],
             peak_rss_mib=peak_rss_mib(),
             epoch_images_per_s=[round(e["images_per_s"], 1) for e in run["epochs"]],
             dataset_mib=images * 3 * a.image_size ** 2 / 2 ** 20)
        return
    wall = statistics.median(r["wall"] for r in runs)
    steady = [e["images_per_s"] for r in runs for e in r["epochs"][1 if a.epochs > 1 else 0:]]
    emit("fit", "dataloader_cached" if a.cache else "dataloader", a, images=images, epochs=a.epochs, repeats=a.repeats,
         fit_s=wall, images_per_s=a.epochs * images / wall,
         steady_epoch_images_per_s=statistics.median(steady),
         first_epoch_images_per_s=statistics.median(r["epochs"][0]["images_per_s"] for r in runs),
         setup_s=statistics.median(r["setup"] for r in runs),
         fit_s_all=[round(r["wall"], 3) for r in runs],
         epoch_images_per_s=[[round(e["images_per_s"], 1) for e in r["epochs"]] for r in runs],
         peak_rss_mib=peak_rss_mib())


def cmd_raw(a):
    torch.manual_seed(1)
    model = build_model(a.model, a.classes, small_stem(a))
    model.train()
    optimizer, lr = create_sgd(model, a.batch_size)
    xs = [torch.randn(a.batch_size, 3, a.image_size, a.image_size) for _ in range(BATCHES)]
    ys = [torch.randint(0, a.classes, (a.batch_size,)) for _ in range(BATCHES)]
    counter = [0]
    phases = [0.0] * 4  # of the timed steps only

    def step():
        i = counter[0] % BATCHES
        train_step(model, optimizer, lr, xs[i], ys[i], phases if counter[0] >= a.warmup else None)
        counter[0] += 1

    rates = repeat(a, a.steps, step)
    timed = a.steps * a.repeats / 1000
    emit("raw", "train_step", a, steps=a.steps, repeats=a.repeats, images_per_s=statistics.median(rates),
         images_per_s_all=[round(r, 1) for r in rates], ms_per_step=1000 * a.batch_size / statistics.median(rates),
         ms_forward=phases[0] / timed, ms_backward=phases[1] / timed, ms_optimizer=phases[2] / timed,
         ms_rest=phases[3] / timed)


def forward_rates(model, a):
    model.eval()
    x = torch.randn(a.batch_size, 3, a.image_size, a.image_size)

    def step():
        with torch.inference_mode():
            F.softmax(model(x), 1).numpy()

    return repeat(a, a.steps, step)


def single_image_ms(a, call, count, inputs):
    times = []
    for i in range(-a.warmup, count):
        start = time.perf_counter()
        call(inputs[(i + a.warmup) % len(inputs)])
        if i >= 0:
            times.append(1000 * (time.perf_counter() - start))
    return times


def emit_latency(impl, a, times, **extra):
    emit("latency", impl, a, count=len(times), p50_ms=percentile(times, 50), p99_ms=percentile(times, 99),
         mean_ms=sum(times) / len(times), min_ms=min(times), **extra)


def cmd_score(a):
    torch.manual_seed(1)
    folder = os.path.join(a.data, "test")
    data, loader = make_loader(folder, a, shuffle=False)
    model = build_model(a.model, len(data.classes), small_stem(a))
    model.eval()

    def one_pass():
        start, rows = time.perf_counter(), 0
        with torch.inference_mode():
            for x, _ in loader:
                F.softmax(model(x), 1).numpy()
                rows += len(x)
        return rows / (time.perf_counter() - start)

    for _ in range(min(1, a.warmup)):
        one_pass()
    rates = [one_pass() for _ in range(a.repeats)]
    emit("score", "dataloader_eval", a, images=len(data), repeats=a.repeats, images_per_s=statistics.median(rates),
         images_per_s_all=[round(r, 1) for r in rates])
    rates = forward_rates(model, a)
    emit("score", "raw_forward", a, steps=a.steps, repeats=a.repeats, images_per_s=statistics.median(rates),
         images_per_s_all=[round(r, 1) for r in rates])


def cmd_latency(a):
    torch.manual_seed(1)
    folder = os.path.join(a.data, "test")
    data = ImageFolder(folder)
    files = sorted(path for path, _ in data.samples)
    model = build_model(a.model, len(data.classes), small_stem(a))
    model.eval()
    transform = image_transform(a.image_size)

    def predict(path):
        with torch.inference_mode():
            x = transform(data.loader(path)).unsqueeze(0)
            return F.softmax(model(x), 1).numpy()

    emit_latency("file_to_prediction", a, single_image_ms(a, predict, a.count, files))
    x = torch.randn(1, 3, a.image_size, a.image_size)

    def forward(_):
        with torch.inference_mode():
            return F.softmax(model(x), 1).numpy()

    emit_latency("raw_forward_b1", a, single_image_ms(a, forward, a.count, [None]))


def cmd_onnx(a):
    import onnx
    if not a.onnx or not os.path.isfile(a.onnx):
        raise SystemExit("onnx: give --onnx FILE (write one with: Speed onnx --keep FILE)")
    m = onnx.load(a.onnx)
    onnx.checker.check_model(m)
    try:
        import onnxruntime as ort
    except ImportError:
        emit("onnx", "onnx_check", a, status="onnxruntime not installed: file loaded and passed onnx.checker",
             onnx_version=onnx.__version__, nodes=len(m.graph.node), opset=m.opset_import[0].version)
        return
    options = ort.SessionOptions()
    options.intra_op_num_threads = a.threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(a.onnx, options, providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(1)
    batch = torch.randint(0, 256, (a.batch_size, 3, a.image_size, a.image_size), generator=gen).float().numpy()
    single = batch[:1].copy()
    rates = repeat(a, a.steps, lambda: session.run(["probabilities"], {"pixels": batch}))
    emit("onnx", "onnxruntime_batch", a, steps=a.steps, repeats=a.repeats, images_per_s=statistics.median(rates),
         images_per_s_all=[round(r, 1) for r in rates], onnxruntime=ort.__version__)
    emit_latency("onnxruntime_b1", a, single_image_ms(a, lambda _: session.run(["probabilities"], {"pixels": single}),
                                                      a.count, [None]))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    def command(name, help_text, needs_data, epochs=0, steps=0, count=0, loader=False):
        c = sub.add_parser(name, help=help_text)
        c.add_argument("--model", default="shufflenetv2-0.5x")
        c.add_argument("--image-size", type=int, default=32)
        c.add_argument("--batch-size", type=int, default=64)
        c.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
        c.add_argument("--stem", choices=["auto", "small", "imagenet"], default="auto")
        c.add_argument("--repeats", type=int, default=1 if name == "fit" else 3)
        c.add_argument("--warmup", type=int, default=3)
        if needs_data:
            c.add_argument("--data", required=True, help="image folder root with train/ and test/ class folders")
        else:
            c.add_argument("--classes", type=int, default=10)
        if epochs:
            c.add_argument("--epochs", type=int, default=epochs)
        if steps:
            c.add_argument("--steps", type=int, default=steps)
        if count:
            c.add_argument("--count", type=int, default=count)
        if loader:
            c.add_argument("--workers", type=int, default=0, help="DataLoader num_workers (0: PyTorch's default)")
            c.add_argument("--cache", action="store_true", help="decode every image once into a uint8 tensor (as ours)")
        return c

    command("fit", "training throughput from DIR/train", True, epochs=3, loader=True)
    command("raw", "training step on tensors made in advance", False, steps=20)
    command("score", "batch scoring of DIR/test, and the raw batched forward", True, steps=10, loader=True)
    command("onnx", "our exported ONNX file in onnxruntime (or only checked)", False, steps=10, count=200) \
        .add_argument("--onnx", help="the .onnx file (Speed onnx --keep FILE)")
    command("latency", "single-image latency from DIR/test files, and the raw batch-1 forward", True, count=200)
    command("memory", "RSS after every epoch of a fit from DIR/train", True, epochs=10, loader=True)
    a = p.parse_args()
    for name in ("batch_size", "threads", "repeats"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if getattr(a, "cache", False) and a.command == "score":
        p.error("--cache is for fit and memory")
    torch.set_num_threads(a.threads)
    {"fit": cmd_fit, "raw": cmd_raw, "score": cmd_score, "onnx": cmd_onnx, "latency": cmd_latency,
     "memory": lambda x: cmd_fit(x, memory=True)}[a.command](a)


if __name__ == "__main__":
    main()
