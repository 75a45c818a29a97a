using System.Runtime.InteropServices;
using System.Text;
using Lightweight.ML.Models;
using Lightweight.ML.Native;
using static TorchSharp.torch;

namespace Lightweight.ML.Tests.Native;

/// <summary>Process-wide libtorch settings made by <see cref="TorchRuntime"/>.</summary>
[TestClass]
public sealed class TorchRuntimeTests
{
    [TestMethod]
    public void NnpackIsOnUnlessItWasFoundUnusable()
    {
        TorchRuntime.EnsureInitialized();
        Assert.AreEqual(!TorchRuntime.NnpackTurnedOff, TorchRuntime.NnpackEnabled);
    }

    /// <summary>
    /// Where NNPACK cannot run, libtorch used to print a warning for every convolution of a single image (37 lines per
    /// ShuffleNetV2 prediction). Native standard error is captured through a pipe while three images are scored.
    /// </summary>
    [TestMethod]
    public void ScoringSingleImagesPrintsNoNnpackWarnings()
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("Captures file descriptor 2 with Linux's libc.");
        TorchRuntime.EnsureInitialized();
        using var model = new ShuffleNetV2(ShuffleNetV2Size.X0_5, 3, smallInput: true);
        model.eval();
        var printed = CaptureNativeStandardError(() =>
        {
            using var scope = NewDisposeScope();
            using (no_grad())
                for (int i = 0; i < 3; i++) model.call(randn(1, 3, 16, 16));
        });
        Assert.DoesNotContain("NNPACK", printed);
    }

    private static string CaptureNativeStandardError(Action action)
    {
        var fds = new int[2];
        Assert.AreEqual(0, pipe(fds));
        int saved = dup(2);
        dup2(fds[1], 2);
        try
        {
            action(); // writes more than the pipe's 64 KiB would block; three small forwards print far less
        }
        finally
        {
            dup2(saved, 2);
            close(saved);
            close(fds[1]);
        }
        var text = new StringBuilder();
        var buffer = new byte[4096];
        for (nint n; (n = read(fds[0], buffer, buffer.Length)) > 0;) text.Append(Encoding.UTF8.GetString(buffer, 0, (int)n));
        close(fds[0]);
        return text.ToString();
    }

    [DllImport("libc", SetLastError = true)] private static extern int pipe(int[] fds);
    [DllImport("libc", SetLastError = true)] private static extern int dup(int fd);
    [DllImport("libc", SetLastError = true)] private static extern int dup2(int fd, int target);
    [DllImport("libc", SetLastError = true)] private static extern int close(int fd);
    [DllImport("libc", SetLastError = true)] private static extern nint read(int fd, byte[] buffer, nint count);
}
