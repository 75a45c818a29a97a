#!/usr/bin/python3
"""Runs the speed benchmark matrix of issue 6 pairwise — ours (bench/Speed, C#) and PyTorch (bench/pytorch/speed.py) one
after the other for every measurement — and writes bench/results/speed-<date>.json (every JSON line, with the variant
and the machine's load) and speed-<date>.md (tables with ours/PyTorch ratios, ready for BENCHMARKS.md).

  /usr/bin/python3 bench/run_speed.py                 the full matrix (long: run it on a quiet machine)
  /usr/bin/python3 bench/run_speed.py --quick         a smoke run: tiny data, few steps, reduced tuning grid
  /usr/bin/python3 bench/run_speed.py --models shufflenetv2-0.5x --sizes 32 --benches fit,raw

Matrix: --models (default ShuffleNetV2 0.5x and 1.0x, GhostNet 1.0) x --sizes (32 and 224 px), batch --batch-size,
--threads on both sides (default 2). Per model and size:
  fit      both sides at their defaults (ours: the library's settings; PyTorch: DataLoader with 0 workers), then the
           tuning grid (--no-tune to skip): ours over threads and glibc malloc (library mallopt vs LIGHTWEIGHT_ML_NO_MALLOPT);
           PyTorch over threads, DataLoader workers, MALLOC_* environment and decode-once caching. "Best" = highest
           whole-fit images/s.
  raw      training step on pre-made tensors, both sides (ours' pipeline per-epoch rate / raw rate = pipeline overhead)
  score    Transform vs DataLoader + eval() + inference_mode; raw batched forwards
  onnx     our exported ONNX file in ONNX Runtime (C#); the python side loads and checks the same file (onnxruntime if present)
  latency  PredictionEngine (file in) vs PIL + transforms + forward; raw batch-1 forwards; ONNX Runtime batch 1
  memory   RSS after each of --memory-epochs epochs and the peak; ours at its defaults, PyTorch with the same malloc
           policy (MALLOC_* as the library sets it)
PyTorch: Debian's torch 1.13 calls whatever libblas.so.3 resolves to, here netlib's reference BLAS, which makes it
6-10x slower than with OpenBLAS (measured: GhostNet 1.0 batch-1 forward at 224 px 140 ms vs 16 ms); by default every
PyTorch run gets Debian's OpenBLAS (fetched with apt-get download, unpacked under --work, nothing installed) through
LD_LIBRARY_PATH (--torch-blas system to skip). Each PyTorch JSON line names the BLAS library it loaded.
Data: 32 px runs read Fashion-MNIST PNGs (28 px grayscale, resized to 32 by both sides, made with
examples/data/make_fashion_mnist_subset.py); 224 px runs read random RGB PNGs of 224 px (bench/make_noise_pngs.py), so
no side spends its time upscaling 28 px images 8x (--data-224 fashion to use Fashion-MNIST there too).
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"  # Debian's, with torch 1.13 and torchvision 0.14
SPEED_DLL = os.path.join(REPO, "bench", "Speed", "bin", "Release", "net10.0", "Speed.dll")
TORCH_SCRIPT = os.path.join(REPO, "bench", "pytorch", "speed.py")
DEFAULT_MODELS = "shufflenetv2-0.5x,shufflenetv2-1.0x,ghostnet-1.0"
# glibc malloc kept from returning freed activation buffers to the kernel, with the values the library passes to
# mallopt (glibc 2.36 accepts them: measured, a 10 MB tensor allocated again then costs no page faults; with a 32 MiB
# mmap threshold it still faults, and PyTorch's GhostNet step at 224 px was 5x slower).
TUNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "1000000000", "MALLOC_TRIM_THRESHOLD_": "1000000000"}
BENCHES = ["fit", "raw", "score", "onnx", "latency", "memory"]
# The fitted model's scoring engines (bench/Speed --engine): ONNX Runtime is the library's default on the CPU (Auto).
ENGINES = ["OnnxRuntime", "TorchSharp"]


class Profile:
    """Sizes of data and runs for one input size."""

    def __init__(self, train, test, epochs, steps, count, repeats, memory_epochs):
        self.train, self.test, self.epochs, self.steps, self.count = train, test, epochs, steps, count
        self.repeats, self.memory_epochs = repeats, memory_epochs


FULL = {32: Profile(train=200, test=50, epochs=3, steps=30, count=200, repeats=3, memory_epochs=10),
        224: Profile(train=50, test=20, epochs=2, steps=8, count=100, repeats=3, memory_epochs=10)}
QUICK = {32: Profile(train=8, test=4, epochs=2, steps=2, count=10, repeats=1, memory_epochs=2),
         224: Profile(train=2, test=2, epochs=1, steps=1, count=5, repeats=1, memory_epochs=2)}


def profile_for(a, size):
    table = QUICK if a.quick else FULL
    return table.get(size) or table[224 if size > 64 else 32]


# ----------------------------------------------------------------------------------------------------------------------
# Running the two sides
# ----------------------------------------------------------------------------------------------------------------------

class Runner:
    def __init__(self, a, work, torch_env, save):
        self.a, self.work, self.records, self.count = a, work, [], 0
        self.torch_env = torch_env  # for every PyTorch run (the BLAS library path)
        self.save = save  # writes the JSON and markdown so far: an interrupted run keeps what it measured
        os.makedirs(os.path.join(work, "logs"), exist_ok=True)

    def run(self, side, bench, args, variant, env=None):
        """Runs one subcommand of one side; keeps its JSON lines with the variant, the command and the load average."""
        self.count += 1
        if side == "ours":
            cmd = ["dotnet", SPEED_DLL, bench] + args
        else:
            cmd = [PYTHON, TORCH_SCRIPT, bench] + args
        full_env = dict(os.environ)
        for key in ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "LIGHTWEIGHT_ML_NO_MALLOPT"]:
            full_env.pop(key, None)  # variants set these explicitly
        full_env["TORCH_CPP_LOG_LEVEL"] = "ERROR"  # libtorch's NNPACK warnings on CPUs without it
        if side == "pytorch":
            for key, value in self.torch_env.items():
                full_env[key] = value + (os.pathsep + full_env[key] if full_env.get(key) else "")
        full_env.update(env or {})
        shown = " ".join(f"{k}={v}" for k, v in (env or {}).items()) + (" " if env else "") + " ".join(cmd)
        print(f"[{self.count}] {side:7s} {bench:7s} {variant_text(variant)}", flush=True)
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        log = os.path.join(self.work, "logs", f"{self.count:03d}-{side}-{bench}.log")
        try:
            done = subprocess.run(cmd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  timeout=self.a.timeout)
            stdout, stderr, code = done.stdout, done.stderr, done.returncode
        except subprocess.TimeoutExpired as e:
            stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            stderr, code = f"timed out after {self.a.timeout} s", -1
        with open(log, "w") as f:
            f.write(shown + "\n\n" + stderr)
        lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
        extra = {"variant": variant, "command": shown, "load1_before": round(load_before, 2),
                 "load1_after": round(os.getloadavg()[0], 2), "process_s": round(time.perf_counter() - start, 1)}
        if code != 0 or not lines:
            tail = "\n".join(stderr.strip().splitlines()[-5:])
            print(f"    FAILED (exit {code}); log: {log}\n    {tail}", flush=True)
            self.records.append({"bench": bench, "side": side, "error": f"exit {code}", "log": log, **extra})
            self.save(self.records)
            return []
        for record in lines:
            record.update(extra)
            self.records.append(record)
            print("    " + summary(record), flush=True)
        self.save(self.records)
        return lines


def variant_text(variant):
    return " ".join(f"{k}={v}" for k, v in variant.items())


def summary(r):
    if "images_per_s" in r:
        return f"{r['impl']}: {r['images_per_s']:.1f} img/s"
    if "p50_ms" in r:
        return f"{r['impl']}: p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms"
    if "peak_rss_mib" in r:
        return f"{r['impl']}: peak RSS {r['peak_rss_mib']:.0f} MiB"
    return f"{r['impl']}: {r.get('status', '')}"


def common_args(a, model, size, data=None):
    args = ["--model", model, "--image-size", str(size), "--batch-size", str(a.batch_size)]
    if data:
        args += ["--data", data]
    return args


def fit_variants(a):
    """(ours variants, PyTorch variants); the first of each is the default."""
    t = a.threads
    grid = {t, *a.tune_threads} if a.tune_threads else {t, 1, os.cpu_count() or t}
    threads = [t] if a.quick else sorted(grid, key=lambda x: (x != t, x))
    ours = [{"threads": t, "malloc": "library"}]
    torch = [{"threads": t, "workers": 0, "malloc": "glibc", "cache": False}]
    if not a.tune:
        return ours, torch
    for n in threads:
        for malloc in ["library", "glibc"]:
            v = {"threads": n, "malloc": malloc}
            if v not in ours:
                ours.append(v)
        workers = [0, 1] if a.quick else [0, 1, 2]
        for w in workers:
            for malloc in ["glibc", "tuned"]:
                v = {"threads": n, "workers": w, "malloc": malloc, "cache": False}
                if v not in torch:
                    torch.append(v)
        for malloc in ["glibc", "tuned"]:
            torch.append({"threads": n, "workers": 0, "malloc": malloc, "cache": True})
    return ours, torch


def ours_env(variant):
    return {"LIGHTWEIGHT_ML_NO_MALLOPT": "1"} if variant["malloc"] == "glibc" else {}


def torch_env(variant):
    return dict(TUNED_MALLOC) if variant["malloc"] == "tuned" else {}


def run_matrix(a, runner, data):
    for size in a.sizes:
        p = profile_for(a, size)
        folder = data[size]
        for model in a.models:
            base = common_args(a, model, size)
            with_data = common_args(a, model, size, folder)
            print(f"=== {model} at {size} px ===", flush=True)
            if "fit" in a.benches:
                ours_variants, torch_variants = fit_variants(a)
                fit = ["--epochs", str(p.epochs), "--repeats", "1"]
                pairs = max(len(ours_variants), len(torch_variants))
                for i in range(pairs):  # alternate sides so drifting machine load hits both
                    if i < len(ours_variants):
                        v = ours_variants[i]
                        runner.run("ours", "fit", with_data + fit + ["--threads", str(v["threads"])],
                                   {"kind": "default" if i == 0 else "tune", **v}, ours_env(v))
                    if i < len(torch_variants):
                        v = torch_variants[i]
                        extra = ["--threads", str(v["threads"]), "--workers", str(v["workers"])] + (["--cache"] if v["cache"] else [])
                        runner.run("pytorch", "fit", with_data + fit + extra, {"kind": "default" if i == 0 else "tune", **v},
                                   torch_env(v))
            threads = ["--threads", str(a.threads)]
            default = {"kind": "default", "threads": a.threads}
            # PyTorch also with glibc malloc tuned as the library tunes it in-process (a large effect on CPU training).
            torch_runs = [({"kind": "default", "threads": a.threads, "malloc": "glibc"}, {})]
            if a.tune:
                torch_runs.append(({"kind": "tune", "threads": a.threads, "malloc": "tuned"}, dict(TUNED_MALLOC)))
            if "raw" in a.benches:
                raw = base + threads + ["--steps", str(p.steps), "--repeats", str(p.repeats)]
                runner.run("ours", "raw", raw, default)
                for variant, env in torch_runs:
                    runner.run("pytorch", "raw", raw, variant, env)
            if "score" in a.benches:
                score = with_data + threads + ["--steps", str(p.steps), "--repeats", str(p.repeats)]
                for engine in ENGINES:  # the library's default on the CPU first
                    runner.run("ours", "score", score + ["--engine", engine], {**default, "engine": engine})
                for variant, env in torch_runs:
                    runner.run("pytorch", "score", score, variant, env)
            if "onnx" in a.benches:
                onnx_file = os.path.join(runner.work, f"{model}-{size}.onnx")
                onnx = base + threads + ["--steps", str(p.steps), "--repeats", str(p.repeats), "--count", str(p.count)]
                runner.run("ours", "onnx", onnx + ["--keep", onnx_file], default)
                runner.run("pytorch", "onnx", onnx + ["--onnx", onnx_file], default)
            if "latency" in a.benches:
                latency = with_data + threads + ["--count", str(p.count)]
                for engine in ENGINES:
                    runner.run("ours", "latency", latency + ["--engine", engine], {**default, "engine": engine})
                for variant, env in torch_runs:
                    runner.run("pytorch", "latency", latency, variant, env)
            if "memory" in a.benches and size in a.memory_sizes:
                memory = with_data + threads + ["--epochs", str(p.memory_epochs)]
                runner.run("ours", "memory", memory, default)
                # PyTorch with the allocator policy the library applies to itself (freed memory kept, not trimmed), so
                # both sides' RSS counts the same kind of memory; also much faster than glibc's default at 224 px.
                runner.run("pytorch", "memory", memory, {"kind": "default", "threads": a.threads, "malloc": "tuned"},
                           dict(TUNED_MALLOC))


# ----------------------------------------------------------------------------------------------------------------------
# Data and machine
# ----------------------------------------------------------------------------------------------------------------------

def prepare_data(a, work):
    data = {}
    for size in a.sizes:
        p = profile_for(a, size)
        kind = a.data_224 if size > 64 else "fashion"
        folder = os.path.join(work, f"data-{kind}-{p.train}-{p.test}" + (f"-{size}" if kind == "noise" else ""))
        if kind == "fashion":
            cmd = [PYTHON, os.path.join(REPO, "examples", "data", "make_fashion_mnist_subset.py"),
                   "--train-per-class", str(p.train), "--test-per-class", str(p.test), "--out", folder]
        else:
            cmd = [PYTHON, os.path.join(REPO, "bench", "make_noise_pngs.py"), "--size", str(size),
                   "--train-per-class", str(p.train), "--test-per-class", str(p.test), "--out", folder]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        data[size] = folder
        print(f"data for {size} px: {folder} ({kind}, {p.train} train / {p.test} test per class)", flush=True)
    return data


def prepare_openblas(work):
    """Debian's PyTorch calls whatever libblas.so.3 resolves to; on this machine that is netlib's reference BLAS, which
    makes its GEMM-based convolutions many times slower than any PyTorch a user would install. Fetch Debian's OpenBLAS
    (OpenMP build, so torch.set_num_threads governs it) with apt-get download and unpack it under the work folder,
    without installing anything; PyTorch runs get it through LD_LIBRARY_PATH. Returns the library folder or None."""
    target = os.path.join(work, "openblas")
    lib = os.path.join(target, "usr", "lib", "x86_64-linux-gnu", "openblas-openmp")
    if os.path.isfile(os.path.join(lib, "libblas.so.3")):
        return lib
    os.makedirs(target, exist_ok=True)
    try:
        subprocess.run(["apt-get", "download", "libopenblas0-openmp"], cwd=target, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deb = next(f for f in os.listdir(target) if f.endswith(".deb"))
        subprocess.run(["dpkg", "-x", os.path.join(target, deb), target], check=True)
    except (OSError, subprocess.CalledProcessError, StopIteration) as e:
        print(f"WARNING: could not fetch OpenBLAS ({e}); PyTorch runs use the system BLAS", flush=True)
        return None
    return lib if os.path.isfile(os.path.join(lib, "libblas.so.3")) else None


def machine():
    info = {"platform": platform.platform(), "cores": os.cpu_count(), "python_torch": PYTHON}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
        with open("/proc/meminfo") as f:
            info["memory_gib"] = round(int(f.readline().split()[1]) / 2 ** 20, 1)
    except (OSError, StopIteration):
        pass
    try:
        info["commit"] = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                                        text=True).stdout.strip()
        info["dotnet"] = subprocess.run(["dotnet", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    return info


# ----------------------------------------------------------------------------------------------------------------------
# Markdown
# ----------------------------------------------------------------------------------------------------------------------

def pick(records, **match):
    found = [r for r in records if "error" not in r and all(_get(r, k) == v for k, v in match.items())]
    return found


def _get(r, key):
    if key.startswith("v_"):
        return r.get("variant", {}).get(key[2:])
    return r.get(key)


def one(records, **match):
    found = pick(records, **match)
    return found[0] if found else None


def ours_with(records, engine, **match):
    """Our score/latency record made with a scoring engine; runs from before the engines existed scored with TorchSharp."""
    found = one(records, side="ours", engine=engine, **match)
    if found is None and engine == "TorchSharp":
        found = next((r for r in pick(records, side="ours", **match) if "engine" not in r), None)
    return found


def default_and_best(records, key="images_per_s", lower_is_better=False, **match):
    """(the default variant's record, the best record over all variants) for one measurement."""
    found = pick(records, **match)
    default = next((r for r in found if r["variant"].get("kind") == "default"), None)
    best = (min if lower_is_better else max)(found, key=lambda r: r[key], default=None)
    return default, best


def pair_text(default, best, key="images_per_s", digits=1):
    """"default" or "default / best" when a tuned variant did better."""
    if default is None:
        return "—"
    text = num(default[key], digits)
    if best is not None and best is not default:
        text += f" / {num(best[key], digits)}"
    return text


def num(value, digits=1):
    return "—" if value is None else f"{value:,.{digits}f}"


def ratio(ours, theirs):
    if ours is None or theirs is None or theirs == 0:
        return "—"
    return f"{ours / theirs:.2f}"


def settings_text(r):
    v = r["variant"]
    if r["side"] == "ours":
        return f"{v['threads']} thr, {'glibc malloc' if v['malloc'] == 'glibc' else 'library mallopt'}"
    text = f"{v['threads']} thr, {v['workers']} workers"
    if v.get("cache"):
        text += ", decode once"
    return text + (", MALLOC_* tuned" if v["malloc"] == "tuned" else "")


def targets_table(a, records):
    """One row per model and size: each issue-6 target, the measured value and whether it is met."""
    def best(bench, side, key, m, s, impl=None, lower=False):
        match = {"impl": impl} if impl else {}
        rows = [r for r in pick(records, bench=bench, side=side, model=m, image_size=s, **match) if key in r]
        return (min if lower else max)((r[key] for r in rows), default=None)

    def cell(value, goal, at_least=True, digits=2, unit=""):
        if value is None:
            return "—"
        met = value >= goal if at_least else value <= goal
        return f"{value:.{digits}f}{unit} {'✓' if met else '✗'}"

    def div(x, y):
        return x / y if x is not None and y else None

    out = ["## Targets of issue 6 (✓ met, ✗ missed)", "",
           "| Model | px | Fit / PyTorch best (≥ 1.2) | Pipeline / raw (≥ 0.9) | Transform / PyTorch (≥ 1.0) | "
           "ONNX / PyTorch raw (≥ 1.5) | PredictionEngine p50 / its engine's batch-1 (≤ 1.2) | RSS growth after epoch 2 (≤ 5 %) |",
           "|---|---|---|---|---|---|---|---|"]
    for s in a.sizes:
        for m in a.models:
            fit = div(best("fit", "ours", "images_per_s", m, s), best("fit", "pytorch", "images_per_s", m, s))
            od = one(records, bench="fit", side="ours", model=m, image_size=s, v_kind="default")
            pipeline = div(od and od.get("steady_epoch_images_per_s"), best("raw", "ours", "images_per_s", m, s))
            # Ours as a user gets it: the default engine (Auto = ONNX Runtime on the CPU), or TorchSharp in older runs.
            engine_used = "OnnxRuntime" if pick(records, bench="score", side="ours", engine="OnnxRuntime") else "TorchSharp"
            ot = ours_with(records, engine_used, bench="score", impl="transform", model=m, image_size=s)
            transform = div(ot and ot["images_per_s"], best("score", "pytorch", "images_per_s", m, s, "dataloader_eval"))
            onnx = div(best("onnx", "ours", "images_per_s", m, s, "onnxruntime_batch"),
                       best("score", "pytorch", "images_per_s", m, s, "raw_forward"))
            pe = ours_with(records, engine_used, bench="latency", impl="prediction_engine", model=m, image_size=s)
            b1 = ours_with(records, engine_used, bench="latency", impl="engine_forward_b1", model=m, image_size=s) \
                or one(records, bench="latency", side="ours", impl="raw_forward_b1", model=m, image_size=s)
            engine = div(pe and pe["p50_ms"], b1 and b1["p50_ms"])
            mem = one(records, bench="memory", side="ours", model=m, image_size=s)
            per_epoch = mem and mem.get("rss_mib_per_epoch")
            growth = 100 * (per_epoch[-1] / per_epoch[1] - 1) if per_epoch and len(per_epoch) > 2 else None
            out.append(f"| {m} | {s} | {cell(fit, 1.2)} | {cell(pipeline, 0.9)} | {cell(transform, 1.0)} | "
                       f"{cell(onnx, 1.5)} | {cell(engine, 1.2, at_least=False)} | "
                       f"{cell(growth, 5, at_least=False, digits=1, unit=' %')} |")
    out += ["", "Fit: best of ours over best of PyTorch across the grid. ONNX: ONNX Runtime (C#) batch throughput over "
            "PyTorch's best raw eval forward. Transform and PredictionEngine: ours with the library's default scoring engine "
            "(ONNX Runtime on the CPU; TorchSharp in runs before it existed); the PredictionEngine's p50 over its engine's "
            "own batch-1 forward on pre-decoded pixels, both from the same process and thread count.", ""]
    return out


def markdown(a, info, records, date, finished=True):
    out = [f"# Speed benchmarks, {date}", "",
           f"Machine: {info.get('cpu', '?')}, {info.get('cores')} cores, {info.get('memory_gib', '?')} GiB; "
           f"commit {info.get('commit', '?')}; .NET SDK {info.get('dotnet', '?')}. Batch {a.batch_size}, "
           f"{a.threads} threads on both sides unless stated. Ratios are ours / PyTorch: above 1 we are faster "
           f"(throughput), below 1 we are faster (latency, memory)."
           + (" **Smoke run (--quick): tiny data and few steps, the numbers mean nothing.**" if a.quick else "")
           + ("" if finished else " **Incomplete: the run was interrupted or is still going.**"), ""]
    torch_version = next((r["env"].get("torch") for r in records if r.get("side") == "pytorch" and "env" in r), "?")
    ts_version = next((r["env"].get("torchsharp") for r in records if r.get("side") == "ours" and "env" in r), "?")
    blas = next((r["env"].get("blas_library") for r in records if r.get("side") == "pytorch" and "env" in r), None)
    out += [f"Ours: Lightweight.ML on TorchSharp {ts_version} (libtorch 2.10 CPU). PyTorch: {torch_version} "
            f"(Debian), BLAS {a.torch_blas} ({', '.join(os.path.basename(b) for b in blas or []) or '?'}); torchvision "
            "ShuffleNetV2, GhostNet from tools/parity/make_fixtures.py.", ""]
    loads = [r["load1_before"] for r in records if "load1_before" in r]
    if loads:
        out += [f"1-minute load average before the runs: {min(loads):.2f}–{max(loads):.2f} "
                "(above about 0.5 on this machine, something else was running).", ""]
    keys = [(m, s) for s in a.sizes for m in a.models]
    out += targets_table(a, records)

    if "fit" in a.benches:
        out += ["## Fit from a PNG folder (images/s over the whole fit, decoding included)", "",
                "| Model | px | Ours default | PyTorch default | Ratio | Ours best | PyTorch best | Ratio | Ours per-epoch (loop) | Ours raw step | Pipeline / raw |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]
        for m, s in keys:
            od = one(records, bench="fit", side="ours", model=m, image_size=s, v_kind="default")
            td = one(records, bench="fit", side="pytorch", model=m, image_size=s, v_kind="default")
            ob = max(pick(records, bench="fit", side="ours", model=m, image_size=s), key=lambda r: r["images_per_s"], default=None)
            tb = max(pick(records, bench="fit", side="pytorch", model=m, image_size=s), key=lambda r: r["images_per_s"], default=None)
            raw = one(records, bench="raw", side="ours", model=m, image_size=s)
            g = lambda r, k="images_per_s": r[k] if r else None  # noqa: E731
            out.append(f"| {m} | {s} | {num(g(od))} | {num(g(td))} | {ratio(g(od), g(td))} | "
                       f"{num(g(ob))} ({settings_text(ob) if ob else '—'}) | {num(g(tb))} ({settings_text(tb) if tb else '—'}) | "
                       f"{ratio(g(ob), g(tb))} | {num(g(od, 'steady_epoch_images_per_s'))} | {num(g(raw))} | "
                       f"{ratio(g(od, 'steady_epoch_images_per_s'), g(raw))} |")
        out += ["", "Ours decodes every image once before the first epoch and trains from memory; PyTorch's DataLoader "
                "decodes every epoch (\"decode once\" is the same caching written in PyTorch). \"Ours per-epoch\" is the "
                "training loop's own rate after the first epoch; pipeline / raw is that over the raw step on pre-made "
                "tensors (target ≥ 0.9).", ""]

    if "raw" in a.benches:
        out += ["## Training step on pre-made tensors (images/s)", "",
                "| Model | px | Ours | PyTorch (glibc malloc / MALLOC_* tuned) | Ratio to best PyTorch |", "|---|---|---|---|---|"]
        for m, s in keys:
            o = one(records, bench="raw", side="ours", model=m, image_size=s)
            td, tb = default_and_best(records, bench="raw", side="pytorch", model=m, image_size=s)
            out.append(f"| {m} | {s} | {num(o and o['images_per_s'])} | {pair_text(td, tb)} | "
                       f"{ratio(o and o['images_per_s'], tb and tb['images_per_s'])} |")
        out.append("")

    if "score" in a.benches or "onnx" in a.benches:
        out += ["## Batch scoring (images/s)", "",
                "| Model | px | Ours Transform (ONNX Runtime) | Ours Transform (TorchSharp) | PyTorch DataLoader + eval | Ratio (ORT) | Ratio (TorchSharp) | Ours raw forward | PyTorch raw forward | Ratio | ONNX Runtime (C#) | ORT / PyTorch raw |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for m, s in keys:
            oo = ours_with(records, "OnnxRuntime", bench="score", impl="transform", model=m, image_size=s)
            ot = ours_with(records, "TorchSharp", bench="score", impl="transform", model=m, image_size=s)
            _, tt = default_and_best(records, bench="score", side="pytorch", impl="dataloader_eval", model=m, image_size=s)
            orf = ours_with(records, "TorchSharp", bench="score", impl="raw_forward", model=m, image_size=s) \
                or one(records, bench="score", side="ours", impl="raw_forward", model=m, image_size=s)
            _, trf = default_and_best(records, bench="score", side="pytorch", impl="raw_forward", model=m, image_size=s)
            ort = one(records, bench="onnx", side="ours", impl="onnxruntime_batch", model=m, image_size=s)
            g = lambda r: r["images_per_s"] if r else None  # noqa: E731
            out.append(f"| {m} | {s} | {num(g(oo))} | {num(g(ot))} | {num(g(tt))} | {ratio(g(oo), g(tt))} | {ratio(g(ot), g(tt))} | "
                       f"{num(g(orf))} | {num(g(trf))} | {ratio(g(orf), g(trf))} | {num(g(ort))} | {ratio(g(ort), g(trf))} |")
        out += ["", "Transform: the fitted pipeline from file paths (decode, resize, score) with each scoring engine; ONNX "
                "Runtime is the library's default on the CPU. Raw forwards: TorchSharp's and PyTorch's on a pre-made float "
                "batch. PyTorch columns: the better of glibc's default malloc and MALLOC_* tuned (see the JSON for both)."]
        checks = pick(records, bench="onnx", side="pytorch")
        if checks:
            out += ["", "Python side of the ONNX files: " + "; ".join(sorted({c.get("status") or c["impl"] for c in checks})) + "."]
        out.append("")

    if "latency" in a.benches:
        out += ["## Single-image latency (ms, p50 / p99)", "",
                "| Model | px | Ours PredictionEngine, ONNX Runtime (file) | Ours PredictionEngine, TorchSharp (file) | PyTorch file → prediction | Ratio p50 (ORT) | Ours ORT engine batch-1 | Ours TorchSharp raw batch-1 | PyTorch raw batch-1 | Ratio p50 (TorchSharp) |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        for m, s in keys:
            po = ours_with(records, "OnnxRuntime", bench="latency", impl="prediction_engine", model=m, image_size=s)
            pe = ours_with(records, "TorchSharp", bench="latency", impl="prediction_engine", model=m, image_size=s)
            eo = ours_with(records, "OnnxRuntime", bench="latency", impl="engine_forward_b1", model=m, image_size=s) \
                or one(records, bench="latency", side="ours", impl="onnxruntime_b1", model=m, image_size=s)
            _, tf = default_and_best(records, "p50_ms", True, bench="latency", side="pytorch", impl="file_to_prediction", model=m, image_size=s)
            ob = ours_with(records, "TorchSharp", bench="latency", impl="raw_forward_b1", model=m, image_size=s) \
                or one(records, bench="latency", side="ours", impl="raw_forward_b1", model=m, image_size=s)
            _, tb = default_and_best(records, "p50_ms", True, bench="latency", side="pytorch", impl="raw_forward_b1", model=m, image_size=s)
            pp = lambda r: f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}" if r else "—"  # noqa: E731
            p50 = lambda r: r["p50_ms"] if r else None  # noqa: E731
            out.append(f"| {m} | {s} | {pp(po)} | {pp(pe)} | {pp(tf)} | {ratio(p50(po), p50(tf))} | {pp(eo)} | {pp(ob)} | "
                       f"{pp(tb)} | {ratio(p50(ob), p50(tb))} |")
        out += ["", "PredictionEngine: file path in, prediction out (decode, resize, score) with each scoring engine; ONNX "
                "Runtime is the library's default on the CPU. ORT engine batch-1: the transformer's ONNX Runtime session on "
                "pre-decoded pixels. PyTorch columns: the better p50 of glibc's default malloc and MALLOC_* tuned.", ""]

    if "memory" in a.benches:
        out += ["## Memory over a fit (MiB)", "",
                "| Model | px | Epochs | Ours peak RSS | Ours RSS epoch 1 → last | PyTorch peak RSS | PyTorch RSS epoch 1 → last | Ratio peak | Decoded data set |",
                "|---|---|---|---|---|---|---|---|---|"]
        for m, s in keys:
            o = one(records, bench="memory", side="ours", model=m, image_size=s)
            t = one(records, bench="memory", side="pytorch", model=m, image_size=s)
            if not o and not t:
                continue
            span = lambda r: f"{r['rss_mib_per_epoch'][0]:.0f} → {r['rss_mib_per_epoch'][-1]:.0f}" if r else "—"  # noqa: E731
            peak = lambda r: r["peak_rss_mib"] if r else None  # noqa: E731
            epochs = (o or t)["epochs"]
            out.append(f"| {m} | {s} | {epochs} | {num(peak(o), 0)} | {span(o)} | {num(peak(t), 0)} | {span(t)} | "
                       f"{ratio(peak(o), peak(t))} | {num(o and o['dataset_mib'])} |")
        out += ["", "Ours holds the decoded training set in memory (last column); PyTorch's DataLoader (0 workers) does not. "
                "PyTorch ran with MALLOC_* set as the library sets glibc's malloc for itself (freed memory is kept).", ""]

    errors = [r for r in records if "error" in r]
    if errors:
        out += ["## Failed runs", ""] + [f"- {r['side']} {r['bench']} ({variant_text(r['variant'])}): {r['error']}, log {r['log']}"
                                         for r in errors] + [""]
    out += ["Raw data: the JSON file next to this one (every measurement, its command line and the load average).", ""]
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------------------------------

def write_atomically(path, text):
    temp = path + ".tmp"
    with open(temp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=DEFAULT_MODELS)
    p.add_argument("--sizes", default="32,224")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--benches", default=",".join(BENCHES))
    p.add_argument("--memory-sizes", default="32,224", help="sizes at which the memory benchmark runs")
    p.add_argument("--no-tune", dest="tune", action="store_false", help="fit at the defaults only")
    p.add_argument("--tune-threads", type=lambda v: [int(x) for x in v.split(",") if x],
                   help="thread counts of the fit grid (default: 1, --threads and the core count)")
    p.add_argument("--torch-blas", choices=["openblas", "system"], default="openblas",
                   help="BLAS for PyTorch: Debian's OpenBLAS unpacked locally (default), or the system's libblas.so.3")
    p.add_argument("--data-224", choices=["noise", "fashion"], default="noise", help="data for sizes above 64 px")
    p.add_argument("--quick", action="store_true", help="smoke run: tiny data, few steps, small grid")
    p.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    p.add_argument("--work", default="/tmp/lwml-speed", help="data, ONNX files and logs")
    p.add_argument("--name", help="output file stem (default speed-<date>, speed-quick-<date> with --quick)")
    p.add_argument("--timeout", type=int, default=3600, help="seconds per subcommand")
    p.add_argument("--no-build", dest="build", action="store_false")
    p.add_argument("--markdown-from", metavar="JSON", help="only rewrite the markdown of an earlier run's JSON file")
    a = p.parse_args()
    if a.markdown_from:
        with open(a.markdown_from) as f:
            saved = json.load(f)
        target = os.path.splitext(a.markdown_from)[0] + ".md"
        write_atomically(target, markdown(argparse.Namespace(**saved["settings"]), saved["machine"], saved["results"],
                                          saved["date"], saved.get("finished", True)))
        print(f"wrote {target}")
        return
    a.models = [m for m in a.models.split(",") if m]
    a.sizes = [int(s) for s in a.sizes.split(",") if s]
    a.memory_sizes = [int(s) for s in a.memory_sizes.split(",") if s]
    a.benches = [b for b in a.benches.split(",") if b]
    unknown = [b for b in a.benches if b not in BENCHES]
    if unknown:
        p.error(f"unknown bench(es) {unknown}; known: {', '.join(BENCHES)}")

    if a.build:
        print("building bench/Speed (Release)...", flush=True)
        subprocess.run(["dotnet", "build", os.path.join(REPO, "bench", "Speed"), "-c", "Release", "-v", "q", "-nologo"],
                       check=True, stdout=subprocess.DEVNULL)
    os.makedirs(a.work, exist_ok=True)
    data = prepare_data(a, a.work)
    info = machine()
    torch_env = {}
    if a.torch_blas == "openblas":
        lib = prepare_openblas(a.work)
        if lib:
            torch_env["LD_LIBRARY_PATH"] = lib
        else:
            a.torch_blas = "system (OpenBLAS unavailable)"
    print(f"PyTorch BLAS: {a.torch_blas}", flush=True)
    date = datetime.date.today().isoformat()
    stem = os.path.join(a.out, a.name or (f"speed-quick-{date}" if a.quick else f"speed-{date}"))
    os.makedirs(a.out, exist_ok=True)
    settings = {k: v for k, v in vars(a).items() if k not in ("out", "work")}
    started = time.time()

    def save(records, finished=False):
        write_atomically(stem + ".json", json.dumps(
            {"date": date, "machine": info, "settings": settings, "finished": finished,
             "wall_s": round(time.time() - started, 1), "results": records}, indent=1))
        write_atomically(stem + ".md", markdown(a, info, records, date, finished))

    runner = Runner(a, a.work, torch_env, save)
    run_matrix(a, runner, data)
    save(runner.records, finished=True)
    failed = sum("error" in r for r in runner.records)
    print(f"wrote {stem}.json and .md ({len(runner.records)} records, {failed} failed, "
          f"{time.time() - started:.0f} s)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
