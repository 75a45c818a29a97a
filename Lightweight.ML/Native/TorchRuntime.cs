using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Lightweight.ML.Native;

/// <summary>
/// Process-wide libtorch set-up done once before the first tensor: a clear error when the native backend is missing,
/// and glibc malloc tuning on Linux. glibc returns libtorch's large activation buffers to the kernel after every
/// step (mmap/munmap and heap trimming), which more than halves training speed on CPU; raising the mmap and trim
/// thresholds keeps them in the process (measured: 2.5× faster steps). Skipped when the user set
/// <c>MALLOC_MMAP_THRESHOLD_</c> or <c>MALLOC_TRIM_THRESHOLD_</c> themselves, or set <c>LIGHTWEIGHT_ML_NO_MALLOPT=1</c>.
/// <para>Where NNPACK cannot run (no AVX2 or no visible L3 cache, as in many VMs), libtorch 2.10 prints
/// "Could not initialize NNPACK! Reason: Unsupported hardware." for every CPU convolution of a single image — 37 lines
/// per ShuffleNetV2 prediction, 590 MB of standard error for the 160,000 predictions of the concurrency torture — and
/// <c>TORCH_CPP_LOG_LEVEL</c> does not silence it (LibTorchSharp never applies it). On such machines NNPACK is switched
/// off (PyTorch's <c>torch.backends.nnpack.set_flags(False)</c>), which only skips the failing attempt; where NNPACK
/// works it is left on. Opt out with <c>LIGHTWEIGHT_ML_KEEP_NNPACK=1</c>.</para>
/// </summary>
internal static class TorchRuntime
{
    private const int M_TRIM_THRESHOLD = -1;
    private const int M_MMAP_THRESHOLD = -3;
    private static readonly Lazy<bool> Prepared = new(() =>
    {
        TuneMalloc();
        return true;
    }, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<bool> Initialized = new(Initialize, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Whether glibc's malloc thresholds were raised by this process.</summary>
    public static bool MallocTuned { get; private set; }

    /// <summary>Whether NNPACK was found unusable on this machine and switched off.</summary>
    public static bool NnpackTurnedOff { get; private set; }

    /// <summary>Loads libtorch (once) after <see cref="PrepareProcess"/>; throws an explanatory exception when libtorch cannot load.</summary>
    public static void EnsureInitialized() => _ = Initialized.Value;

    /// <summary>
    /// Process settings that should precede the first libtorch allocation (malloc thresholds). Touches no
    /// torch type, so it can run before the JIT loads libtorch for a method that uses it; call it early (trainer creation).
    /// </summary>
    public static void PrepareProcess() => _ = Prepared.Value;

    /// <summary>Parses a device string such as <c>"cpu"</c>, <c>"cuda"</c> or <c>"cuda:1"</c> and checks it is usable.</summary>
    public static Device ParseDevice(string device, string optionName = "Device")
    {
        EnsureInitialized();
        Device parsed;
        try
        {
            parsed = torch.device(device);
        }
        catch (Exception e)
        {
            throw new ArgumentException($"{optionName} '{device}' is not a torch device; use \"cpu\", \"cuda\" or \"cuda:N\".", optionName, e);
        }
        if (parsed.type == DeviceType.CUDA)
        {
            if (!cuda.is_available())
                throw new ArgumentException($"{optionName} '{device}' needs CUDA, which is not available: reference a CUDA libtorch " +
                                            "package (e.g. libtorch-cuda-12.1-linux-x64) instead of the CPU one, on a machine with an NVIDIA GPU.", optionName);
            if (parsed.index >= cuda.device_count())
                throw new ArgumentException($"{optionName} '{device}' names GPU {parsed.index}, but only {cuda.device_count()} are visible.", optionName);
        }
        else if (parsed.type != DeviceType.CPU)
        {
            throw new ArgumentException($"{optionName} '{device}' is not supported; use \"cpu\" or \"cuda[:N]\".", optionName);
        }
        return parsed;
    }

    /// <summary>Sets libtorch's intra-op thread count (one per core when <paramref name="threads"/> is null).</summary>
    public static void SetThreads(int? threads)
    {
        int wanted = threads ?? Environment.ProcessorCount;
        if (torch.get_num_threads() != wanted) torch.set_num_threads(wanted);
    }

    private static bool Initialize()
    {
        PrepareProcess();
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
        }
        catch (Exception e) when (e is NotSupportedException or DllNotFoundException or TypeInitializationException)
        {
            throw new InvalidOperationException(
                "libtorch could not be loaded. The application must reference a native backend package: TorchSharp-cpu, " +
                "libtorch-cpu-linux-x64 (Linux only) or a CUDA one. On Linux distributions older than GCC 13's libstdc++ " +
                "(Debian 12, Ubuntu 22.04) the Lightweight.ML build targets patch the copied libLibTorchSharp.so; make sure the " +
                "package's buildTransitive targets ran (rebuild). Original error: " + e.Message, e);
        }
        TurnOffUnusableNnpack();
        return true;
    }

    private static void TurnOffUnusableNnpack()
    {
        // The entry points are libtorch's C++ functions under their Itanium-ABI names (Linux, macOS); not on Windows.
        if (OperatingSystem.IsWindows() || Environment.GetEnvironmentVariable("LIGHTWEIGHT_ML_KEEP_NNPACK") is "1" or "true") return;
        try
        {
            if (NnpackAvailable()) return; // prints the warning once when it is not
            SetUserEnabledNnpack(GlobalContext(), false);
            NnpackTurnedOff = !NnpackEnabled;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Another libtorch build: leave it as it is.
        }
    }

    /// <summary><c>at::native::_nnpack_available()</c>.</summary>
    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at6native17_nnpack_availableEv")]
    [return: MarshalAs(UnmanagedType.I1)]
    private static extern bool NnpackAvailable();

    /// <summary><c>at::globalContext()</c>.</summary>
    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    private static extern IntPtr GlobalContext();

    /// <summary><c>at::Context::setUserEnabledNNPACK(bool)</c>.</summary>
    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
    private static extern void SetUserEnabledNnpack(IntPtr context, [MarshalAs(UnmanagedType.I1)] bool enabled);

    /// <summary><c>at::Context::userEnabledNNPACK() const</c>.</summary>
    [DllImport("libtorch_cpu", EntryPoint = "_ZNK2at7Context17userEnabledNNPACKEv")]
    [return: MarshalAs(UnmanagedType.I1)]
    private static extern bool UserEnabledNnpack(IntPtr context);

    /// <summary>Whether libtorch will try NNPACK for convolutions.</summary>
    internal static bool NnpackEnabled => UserEnabledNnpack(GlobalContext());

    private static void TuneMalloc()
    {
        if (!OperatingSystem.IsLinux()) return;
        if (Environment.GetEnvironmentVariable("LIGHTWEIGHT_ML_NO_MALLOPT") is "1" or "true") return;
        if (Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is not null ||
            Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") is not null) return;
        try
        {
            // glibc caps the mmap threshold (32 MiB on 64-bit); fall back to the cap if the large value is refused.
            bool mmap = mallopt(M_MMAP_THRESHOLD, 1_000_000_000) == 1 || mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1;
            bool trim = mallopt(M_TRIM_THRESHOLD, 1_000_000_000) == 1;
            MallocTuned = mmap && trim;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (e.g. musl): nothing to tune.
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int mallopt(int param, int value);
}
