using Lightweight.ML.Training;

namespace Lightweight.ML.Tests.Training;

[TestClass]
public sealed class CosineScheduleTests
{
    [TestMethod]
    public void WarmupIsLinearThenCosineDecaysToZero()
    {
        const double peak = 0.4;
        const long total = 100, warmup = 10;
        Assert.AreEqual(peak * 1 / 10, CosineSchedule.At(0, total, warmup, peak), 1e-12);
        Assert.AreEqual(peak * 5 / 10, CosineSchedule.At(4, total, warmup, peak), 1e-12);
        Assert.AreEqual(peak, CosineSchedule.At(10, total, warmup, peak), 1e-12);
        for (long step = warmup; step < total; step++)
        {
            double expected = peak * 0.5 * (1 + Math.Cos(Math.PI * (step - warmup) / (total - warmup)));
            Assert.AreEqual(expected, CosineSchedule.At(step, total, warmup, peak), 1e-12, $"step {step}");
        }
        Assert.AreEqual(peak / 2, CosineSchedule.At(55, total, warmup, peak), 1e-12);
        Assert.AreEqual(0.0, CosineSchedule.At(total, total, warmup, peak), 1e-12);
    }

    [TestMethod]
    public void WithoutWarmupStartsAtPeak()
        => Assert.AreEqual(0.1, CosineSchedule.At(0, 50, 0, 0.1), 1e-12);
}
