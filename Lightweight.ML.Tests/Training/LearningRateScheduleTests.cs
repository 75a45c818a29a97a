using Lightweight.ML.Training;

namespace Lightweight.ML.Tests.Training;

[TestClass]
public sealed class LearningRateScheduleTests
{
    private const double Tolerance = 1e-12;

    private static ILearningRateSchedule Create(LearningRateScheduleOptions options, double peak, long stepsPerEpoch, int epochs,
        long warmup, bool hasValidationSet = true)
        => LearningRateSchedules.Create(options, peak, stepsPerEpoch, epochs, warmup, hasValidationSet);

    private static LearningRateScheduleOptions Kind(LearningRateScheduleKind kind) => new() { Kind = kind };

    [TestMethod]
    public void CosineWarmsUpLinearlyThenDecaysToZero()
    {
        const double peak = 0.4;
        const long stepsPerEpoch = 10, total = 100, warmup = 20;
        var schedule = Create(Kind(LearningRateScheduleKind.Cosine), peak, stepsPerEpoch, 10, warmup);
        for (long s = 0; s <= total; s++)
        {
            double expected = s < warmup ? peak * (s + 1) / warmup
                : peak * 0.5 * (1 + Math.Cos(Math.PI * (s - warmup) / (total - warmup)));
            Assert.AreEqual(expected, schedule.At(s), Tolerance, $"step {s}");
        }
        Assert.AreEqual(peak / warmup, schedule.At(0), Tolerance);
        Assert.AreEqual(peak, schedule.At(warmup - 1), Tolerance);
        Assert.AreEqual(peak, schedule.At(warmup), Tolerance);
        Assert.AreEqual(peak / 2, schedule.At(60), Tolerance, "half-way through the decay");
        Assert.AreEqual(0.0, schedule.At(total), Tolerance);
        Assert.AreEqual(0.0, schedule.At(total + 50), Tolerance);
    }

    [TestMethod]
    public void CosineWithoutWarmupStartsAtPeak()
        => Assert.AreEqual(0.1, Create(Kind(LearningRateScheduleKind.Cosine), 0.1, 5, 10, 0).At(0), Tolerance);

    [TestMethod]
    public void LinearWarmsUpThenDecaysLinearlyToZero()
    {
        const double peak = 0.3;
        const long total = 60, warmup = 12;
        var schedule = Create(Kind(LearningRateScheduleKind.Linear), peak, 6, 10, warmup);
        for (long s = 0; s <= total + 3; s++)
        {
            double expected = s < warmup ? peak * (s + 1) / warmup : peak * Math.Max(0, 1 - (double)(s - warmup) / (total - warmup));
            Assert.AreEqual(expected, schedule.At(s), Tolerance, $"step {s}");
        }
        Assert.AreEqual(peak, schedule.At(warmup), Tolerance);
        Assert.AreEqual(peak / 2, schedule.At(warmup + 24), Tolerance);
        Assert.AreEqual(peak / (total - warmup), schedule.At(total - 1), Tolerance, "last step");
        Assert.AreEqual(0.0, schedule.At(total), Tolerance);
    }

    // StepLR(step_size=3, gamma=0.5) on lr 0.2, rate of epochs 0..9, from torch 1.13 (Debian python3-torch).
    private static readonly double[] TorchStepLr = [0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025];

    [TestMethod]
    public void StepMatchesPyTorchStepLR()
    {
        const long stepsPerEpoch = 7;
        var schedule = Create(new() { Kind = LearningRateScheduleKind.Step, StepEpochs = 3, Gamma = 0.5 }, 0.2, stepsPerEpoch, 10, 0);
        for (long s = 0; s < stepsPerEpoch * 10; s++)
        {
            Assert.AreEqual(TorchStepLr[s / stepsPerEpoch], schedule.At(s), Tolerance, $"step {s}");
            Assert.AreEqual(0.2 * Math.Pow(0.5, s / stepsPerEpoch / 3), schedule.At(s), Tolerance, $"step {s} closed form");
        }
        Assert.AreEqual(0.2, schedule.At(3 * stepsPerEpoch - 1), Tolerance, "last step of epoch 3");
        Assert.AreEqual(0.1, schedule.At(3 * stepsPerEpoch), Tolerance, "first step of epoch 4");
    }

    // MultiStepLR(milestones=[3, 5, 8], gamma=0.1) on lr 0.2, rate of epochs 0..9, from torch 1.13 (Debian python3-torch).
    private static readonly double[] TorchMultiStepLr =
        [0.2, 0.2, 0.2, 0.020000000000000004, 0.020000000000000004, 0.0020000000000000005, 0.0020000000000000005,
         0.0020000000000000005, 0.00020000000000000006, 0.00020000000000000006];

    [TestMethod]
    public void MultiStepMatchesPyTorchMultiStepLR()
    {
        const long stepsPerEpoch = 4;
        var options = new LearningRateScheduleOptions { Kind = LearningRateScheduleKind.MultiStep, Milestones = [3, 5, 8], Gamma = 0.1 };
        var schedule = Create(options, 0.2, stepsPerEpoch, 10, 0);
        for (long s = 0; s < stepsPerEpoch * 10; s++)
            Assert.AreEqual(TorchMultiStepLr[s / stepsPerEpoch], schedule.At(s), Tolerance, $"step {s}");
        Assert.AreEqual(0.2, schedule.At(11), Tolerance, "last step of epoch 3");
        Assert.AreEqual(0.02, schedule.At(12), Tolerance, "first step of epoch 4");
    }

    [TestMethod]
    public void MultiStepWithoutMilestonesIsConstantAfterWarmup()
    {
        var schedule = Create(Kind(LearningRateScheduleKind.MultiStep), 0.05, 10, 5, 4);
        for (long s = 4; s < 60; s++) Assert.AreEqual(0.05, schedule.At(s), Tolerance, $"step {s}");
    }

    [TestMethod]
    [DataRow(LearningRateScheduleKind.Cosine)]
    [DataRow(LearningRateScheduleKind.Linear)]
    [DataRow(LearningRateScheduleKind.Step)]
    [DataRow(LearningRateScheduleKind.MultiStep)]
    [DataRow(LearningRateScheduleKind.ReduceOnPlateau)]
    public void EveryKindWarmsUpLinearlyFromPeakOverWarmupToPeak(LearningRateScheduleKind kind)
    {
        const double peak = 0.8;
        const long warmup = 25;
        var schedule = Create(new() { Kind = kind, StepEpochs = 5, Milestones = [5] }, peak, 10, 10, warmup);
        for (long s = 0; s < warmup; s++)
            Assert.AreEqual(peak * (s + 1) / warmup, schedule.At(s), Tolerance, $"{kind} step {s}");
        Assert.AreEqual(peak, schedule.At(warmup), Tolerance, $"{kind} after warm-up");
    }

    [TestMethod]
    public void WarmupMultipliesAStepDecayThatFallsInsideIt()
    {
        // Milestone 1 (after epoch 1 = 10 steps) inside a 20-step warm-up: warm-up factor × peak × γ.
        var schedule = Create(new() { Kind = LearningRateScheduleKind.MultiStep, Milestones = [1], Gamma = 0.5 }, 1.0, 10, 4, 20);
        Assert.AreEqual(10.0 / 20, schedule.At(9), Tolerance);
        Assert.AreEqual(11.0 / 20 * 0.5, schedule.At(10), Tolerance);
        Assert.AreEqual(0.5, schedule.At(20), Tolerance);
    }

    // OneCycleLR(max_lr=0.4, total_steps=100, pct_start=0.3, div_factor=25, final_div_factor=1e4, anneal_strategy='cos',
    // cycle_momentum=False): rate used at optimizer step k, from torch 1.13 (Debian python3-torch).
    private static readonly (long Step, double Lr)[] TorchOneCycle100 =
    [
        (0, 0.016000000000000014), (1, 0.017125512226362993), (10, 0.11806557938564033), (28, 0.39887448777363704),
        (29, 0.4), (30, 0.39979861411380974), (31, 0.3991948620196127), (50, 0.3175573802302928), (64, 0.2000008),
        (98, 0.0002029858861903152), (99, 1.6e-06),
    ];

    // OneCycleLR(max_lr=0.05, total_steps=37, pct_start=0.25, div_factor=10, final_div_factor=100): every step, same source.
    private static readonly double[] TorchOneCycle37 =
    [
        0.0049999999999999975, 0.006611721507138367, 0.011215984142635922, 0.01815316220745755, 0.026429406893965793,
        0.03485902917464199, 0.04223436651376891, 0.04749879759473578, 0.049898118257894405, 0.0499100272763496,
        0.04951145523283414, 0.048799384455589935, 0.047782931547443695, 0.046475110098830145, 0.04489266407551261,
        0.04305585344651425, 0.040988194796853804, 0.03871616024600663, 0.03626883852682139, 0.03367756256408023,
        0.030975508320793547, 0.028197270048178298, 0.025378417377370538, 0.022555039923402867, 0.019763285231856744,
        0.017038895983833152, 0.014416752384380904, 0.011930425593158142, 0.009611747914729662, 0.007490405251330003,
        0.005593557035896978, 0.00394548851135199, 0.0025672998079764742, 0.0014766357996094219, 0.0006874601973023213,
        0.00020987677269791984, 5e-05,
    ];

    [TestMethod]
    public void OneCycleMatchesPyTorchOneCycleLR()
    {
        var schedule = Create(Kind(LearningRateScheduleKind.OneCycle), 0.4, 10, 10, 0);
        foreach (var (step, lr) in TorchOneCycle100)
            Assert.AreEqual(lr, schedule.At(step), Tolerance, $"step {step}");

        var options = new LearningRateScheduleOptions
        {
            Kind = LearningRateScheduleKind.OneCycle, OneCyclePctStart = 0.25, OneCycleDivFactor = 10, OneCycleFinalDivFactor = 100,
        };
        var other = Create(options, 0.05, 37, 1, 0);
        for (int s = 0; s < TorchOneCycle37.Length; s++)
            Assert.AreEqual(TorchOneCycle37[s], other.At(s), Tolerance, $"step {s}");
        Assert.AreEqual(5e-5, other.At(500), Tolerance, "past the end keeps the final rate");
    }

    [TestMethod]
    public void OneCycleFollowsItsClosedFormAndWarmupSetsTheRisingPhase()
    {
        const double peak = 0.4, initial = peak / 25, min = initial / 1e4;
        const long total = 100, warmup = 20;
        static double Anneal(double a, double b, double p) => b + (a - b) / 2 * (Math.Cos(Math.PI * p) + 1);
        var schedule = Create(Kind(LearningRateScheduleKind.OneCycle), peak, 10, 10, warmup);
        for (long s = 0; s < total; s++)
        {
            double expected = s <= warmup - 1 ? Anneal(initial, peak, s / (warmup - 1.0))
                : Anneal(peak, min, (s - (warmup - 1.0)) / (total - warmup));
            Assert.AreEqual(expected, schedule.At(s), Tolerance, $"step {s}");
        }
        Assert.AreEqual(initial, schedule.At(0), Tolerance);
        Assert.AreEqual(peak, schedule.At(warmup - 1), Tolerance, "peak at the last warm-up step, as the other kinds");
        Assert.AreEqual(min, schedule.At(total - 1), Tolerance);
        // Same as pct_start = warmup / total without warm-up.
        var pct = Create(new() { Kind = LearningRateScheduleKind.OneCycle, OneCyclePctStart = 0.2 }, peak, 10, 10, 0);
        for (long s = 0; s < total; s++) Assert.AreEqual(pct.At(s), schedule.At(s), Tolerance, $"step {s}");
    }

    private static LearningRateScheduleOptions Plateau(double factor, int patience, int cooldown = 0, double minLr = 0,
        PlateauMetric metric = PlateauMetric.ValidationAccuracy) => new()
    {
        Kind = LearningRateScheduleKind.ReduceOnPlateau, PlateauFactor = factor, PlateauPatience = patience,
        PlateauCooldown = cooldown, PlateauMinLearningRate = minLr, PlateauMetric = metric,
    };

    /// <summary>Feeds one metric per epoch; returns the rate of the first step of the next epoch after each.</summary>
    private static double[] Feed(ILearningRateSchedule schedule, long stepsPerEpoch, params double[] metrics)
    {
        var rates = new double[metrics.Length];
        for (int e = 0; e < metrics.Length; e++)
        {
            schedule.OnEpochEnd(e + 1, metrics[e]);
            rates[e] = schedule.At((e + 1) * stepsPerEpoch);
        }
        return rates;
    }

    [TestMethod]
    public void PlateauMatchesPyTorchReduceLROnPlateau()
    {
        // ReduceLROnPlateau(mode='max', factor=0.5, patience=2, threshold=1e-4, cooldown=1, min_lr=0.02) on lr 0.1, and
        // (mode='min', factor=0.1, patience=1, threshold=1e-4, cooldown=0, min_lr=0): rate after each step(metric),
        // from torch 1.13 (Debian python3-torch).
        double[] accuracies = [0.50, 0.60, 0.60, 0.60005, 0.59, 0.70, 0.69, 0.69, 0.69, 0.69, 0.69, 0.69, 0.69, 0.69, 0.69, 0.69];
        double[] torchMax = [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02];
        var max = Create(Plateau(0.5, 2, cooldown: 1, minLr: 0.02), 0.1, 3, 20, 0);
        CollectionAssert.AreEqual(torchMax, Feed(max, 3, accuracies), new ToleranceComparer(Tolerance));

        double[] losses = [2.0, 1.5, 1.4999, 1.6, 1.2, 1.3, 1.3, 1.3, 1.1, 1.2, 1.2];
        double[] torchMin = [0.1, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002,
            0.0010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.00010000000000000003];
        var min = Create(Plateau(0.1, 1, metric: PlateauMetric.ValidationLoss), 0.1, 3, 20, 0);
        CollectionAssert.AreEqual(torchMin, Feed(min, 3, losses), new ToleranceComparer(Tolerance));
    }

    [TestMethod]
    public void PlateauReducesAfterPatienceBadEpochsAndRespectsCooldown()
    {
        // Epoch 1 sets the best; epochs 2.. are bad. Patience 3: the 4th bad epoch (epoch 5) reduces.
        var noCooldown = Feed(Create(Plateau(0.1, 3), 1.0, 2, 20, 0), 2, Enumerable.Repeat(0.5, 12).ToArray());
        CollectionAssert.AreEqual(new[] { 1, 1, 1, 1, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01 }, noCooldown, new ToleranceComparer(1e-12));
        // Cooldown 2: epochs 6 and 7 do not count, so the next reduction is at epoch 5 + 2 + 4 = 11.
        var cooldown = Feed(Create(Plateau(0.1, 3, cooldown: 2), 1.0, 2, 20, 0), 2, Enumerable.Repeat(0.5, 12).ToArray());
        CollectionAssert.AreEqual(new[] { 1, 1, 1, 1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01 }, cooldown, new ToleranceComparer(1e-12));
    }

    [TestMethod]
    public void PlateauStopsAtMinLearningRateAndImprovementsResetPatience()
    {
        var floor = Feed(Create(Plateau(0.1, 0, minLr: 0.05), 1.0, 1, 10, 0), 1, 0.5, 0.5, 0.5, 0.5);
        CollectionAssert.AreEqual(new[] { 1, 0.1, 0.05, 0.05 }, floor, new ToleranceComparer(1e-12));
        // Patience 1 with an improvement (beyond the 1e-4 relative threshold) every other epoch: never reduced.
        var improving = Feed(Create(Plateau(0.1, 1), 1.0, 1, 10, 0), 1, 0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.4);
        Assert.IsTrue(improving.All(r => r == 1.0), string.Join(", ", improving));
        // An improvement within the threshold counts as bad.
        var tiny = Feed(Create(Plateau(0.1, 1), 1.0, 1, 10, 0), 1, 0.5, 0.500001, 0.500002);
        CollectionAssert.AreEqual(new[] { 1, 1, 0.1 }, tiny, new ToleranceComparer(1e-12));
    }

    [TestMethod]
    public void PlateauWarmupMultipliesTheCurrentRate()
    {
        // 5 steps per epoch, 20 warm-up steps (epochs 1-4); patience 0: the bad epoch 2 halves the rate inside warm-up.
        var schedule = Create(Plateau(0.5, 0), 1.0, 5, 10, 20);
        schedule.OnEpochEnd(1, 0.5);
        Assert.AreEqual(1.0 * 10 / 20, schedule.At(9), Tolerance);
        schedule.OnEpochEnd(2, 0.4);
        Assert.AreEqual(0.5 * 11 / 20, schedule.At(10), Tolerance, "warm-up factor × reduced rate");
        Assert.AreEqual(0.5 * 15 / 20, schedule.At(14), Tolerance);
        Assert.AreEqual(0.5, schedule.At(20), Tolerance, "after warm-up");
    }

    [TestMethod]
    public void PlateauWithoutValidationSetWatchesTrainingLoss()
    {
        var options = Plateau(0.1, 1);
        var schedule = (PlateauSchedule)Create(options, 1.0, 1, 10, 0, hasValidationSet: false);
        Assert.IsFalse(schedule.Maximize, "training loss: lower is better");
        Assert.IsTrue(((PlateauSchedule)Create(options, 1.0, 1, 10, 0, hasValidationSet: true)).Maximize);
        Assert.IsFalse(((PlateauSchedule)Create(Plateau(0.1, 1, metric: PlateauMetric.ValidationLoss), 1.0, 1, 10, 0)).Maximize);

        Assert.AreEqual(1.25, LearningRateSchedules.EpochMetric(options, 1.25, null));
        Assert.AreEqual(0.75, LearningRateSchedules.EpochMetric(options, 1.25, (0.9, 0.75)));
        Assert.AreEqual(0.9, LearningRateSchedules.EpochMetric(Plateau(0.1, 1, metric: PlateauMetric.ValidationLoss), 1.25, (0.9, 0.75)));

        // A falling training loss is an improvement: no reduction.
        var rates = Feed(schedule, 1, 2.0, 1.8, 1.6, 1.4, 1.2, 1.0);
        Assert.IsTrue(rates.All(r => r == 1.0), string.Join(", ", rates));
    }

    [TestMethod]
    public void PlateauStateRestoredContinuesIdentically()
    {
        double[] metrics = [0.3, 0.5, 0.5, 0.5, 0.49, 0.6, 0.6, 0.6, 0.6, 0.6];
        var options = Plateau(0.5, 1, cooldown: 1, minLr: 0.01);
        var original = Create(options, 0.2, 5, 10, 7);
        for (int e = 1; e <= 4; e++) original.OnEpochEnd(e, metrics[e - 1]);
        double[] saved = original.State;
        Assert.AreEqual(5, saved.Length);

        var resumed = Create(options, 0.2, 5, 10, 7);
        resumed.Restore((double[])saved.Clone());
        CollectionAssert.AreEqual(saved, resumed.State);
        for (int e = 5; e <= metrics.Length; e++)
        {
            original.OnEpochEnd(e, metrics[e - 1]);
            resumed.OnEpochEnd(e, metrics[e - 1]);
            CollectionAssert.AreEqual(original.State, resumed.State, $"epoch {e}");
            for (long s = e * 5L; s < e * 5L + 5; s++) Assert.AreEqual(original.At(s), resumed.At(s), $"step {s}");
        }
        Assert.IsTrue(original.At(50) < 0.2, "the run reduced the rate at least once");
        // The fresh state (best = −∞) round-trips too.
        var fresh = Create(options, 0.2, 5, 10, 0);
        var copy = Create(options, 0.2, 5, 10, 0);
        copy.Restore(fresh.State);
        CollectionAssert.AreEqual(fresh.State, copy.State);
    }

    [TestMethod]
    [DataRow(LearningRateScheduleKind.Cosine)]
    [DataRow(LearningRateScheduleKind.Linear)]
    [DataRow(LearningRateScheduleKind.Step)]
    [DataRow(LearningRateScheduleKind.MultiStep)]
    [DataRow(LearningRateScheduleKind.OneCycle)]
    public void PureSchedulesHaveNoStateAndIgnoreEpochMetrics(LearningRateScheduleKind kind)
    {
        var options = new LearningRateScheduleOptions { Kind = kind, StepEpochs = 2, Milestones = [1, 3] };
        var a = Create(options, 0.1, 10, 6, 5);
        var b = Create(options, 0.1, 10, 6, 5);
        Assert.AreEqual(0, a.State.Length);
        b.Restore(a.State);
        for (int e = 1; e <= 6; e++) a.OnEpochEnd(e, e * 0.1);
        for (long s = 0; s < 70; s++) Assert.AreEqual(b.At(s), a.At(s), $"step {s}");
        var error = Assert.ThrowsExactly<ArgumentException>(() => a.Restore([0.1]));
        StringAssert.Contains(error.Message, "1 value");
    }

    [TestMethod]
    public void PlateauRejectsBadStateAndRepeatedEpochs()
    {
        var schedule = Create(Plateau(0.1, 1), 0.1, 5, 10, 0);
        var length = Assert.ThrowsExactly<ArgumentException>(() => schedule.Restore([0.1, 0.5]));
        StringAssert.Contains(length.Message, "[0.1, 0.5]");
        var invalid = Assert.ThrowsExactly<ArgumentException>(() => schedule.Restore([-1, 0.5, 0, 0, 3]));
        StringAssert.Contains(invalid.Message, "[-1, 0.5, 0, 0, 3]");
        Assert.ThrowsExactly<ArgumentException>(() => schedule.Restore([0.1, 0.5, 1.5, 0, 3]));
        schedule.OnEpochEnd(1, 0.5);
        var repeated = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => schedule.OnEpochEnd(1, 0.6));
        Assert.AreEqual("epoch", repeated.ParamName);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => schedule.At(-1));
    }

    [TestMethod]
    public void DefaultsAreThoseOfPyTorch()
    {
        var o = new LearningRateScheduleOptions();
        Assert.AreEqual(LearningRateScheduleKind.Cosine, o.Kind);
        Assert.AreEqual(0.1, o.Gamma);
        Assert.AreEqual(30, o.StepEpochs);
        Assert.AreEqual(0, o.Milestones.Length);
        (double, double, double) oneCycle = (o.OneCyclePctStart, o.OneCycleDivFactor, o.OneCycleFinalDivFactor);
        Assert.AreEqual((0.3, 25.0, 1e4), oneCycle);
        Assert.AreEqual(PlateauMetric.ValidationAccuracy, o.PlateauMetric);
        (double, int, double, int, double) plateau = (o.PlateauFactor, o.PlateauPatience, o.PlateauThreshold, o.PlateauCooldown, o.PlateauMinLearningRate);
        Assert.AreEqual((0.1, 10, 1e-4, 0, 0.0), plateau);
        o.Validate();
    }

    [TestMethod]
    public void ValidateNamesTheBadOptionAndQuotesItsValue()
    {
        (Action<LearningRateScheduleOptions> Set, string Name, string Value)[] cases =
        [
            (o => o.Kind = (LearningRateScheduleKind)42, nameof(LearningRateScheduleOptions.Kind), "42"),
            (o => o.Gamma = 0, nameof(LearningRateScheduleOptions.Gamma), "0"),
            (o => o.Gamma = 1.5, nameof(LearningRateScheduleOptions.Gamma), "1.5"),
            (o => o.Gamma = double.NaN, nameof(LearningRateScheduleOptions.Gamma), "NaN"),
            (o => o.StepEpochs = 0, nameof(LearningRateScheduleOptions.StepEpochs), "0"),
            (o => o.Milestones = [5, 3], nameof(LearningRateScheduleOptions.Milestones), "[5, 3]"),
            (o => o.Milestones = [0, 3], nameof(LearningRateScheduleOptions.Milestones), "[0, 3]"),
            (o => o.Milestones = [3, 3], nameof(LearningRateScheduleOptions.Milestones), "[3, 3]"),
            (o => o.Milestones = null!, nameof(LearningRateScheduleOptions.Milestones), "null"),
            (o => o.OneCyclePctStart = 1, nameof(LearningRateScheduleOptions.OneCyclePctStart), "1"),
            (o => o.OneCyclePctStart = 0, nameof(LearningRateScheduleOptions.OneCyclePctStart), "0"),
            (o => o.OneCycleDivFactor = 0.5, nameof(LearningRateScheduleOptions.OneCycleDivFactor), "0.5"),
            (o => o.OneCycleFinalDivFactor = double.PositiveInfinity, nameof(LearningRateScheduleOptions.OneCycleFinalDivFactor), "Infinity"),
            (o => o.PlateauMetric = (PlateauMetric)7, nameof(LearningRateScheduleOptions.PlateauMetric), "7"),
            (o => o.PlateauFactor = 1, nameof(LearningRateScheduleOptions.PlateauFactor), "1"),
            (o => o.PlateauPatience = -1, nameof(LearningRateScheduleOptions.PlateauPatience), "-1"),
            (o => o.PlateauThreshold = -0.1, nameof(LearningRateScheduleOptions.PlateauThreshold), "-0.1"),
            (o => o.PlateauCooldown = -2, nameof(LearningRateScheduleOptions.PlateauCooldown), "-2"),
            (o => o.PlateauMinLearningRate = -1e-3, nameof(LearningRateScheduleOptions.PlateauMinLearningRate), "-0.001"),
        ];
        foreach (var (set, name, value) in cases)
        {
            var options = new LearningRateScheduleOptions();
            set(options);
            var error = Assert.Throws<ArgumentException>(options.Validate, $"{name} = {value}");
            Assert.AreEqual(name, error.ParamName, $"{name} = {value}");
            StringAssert.Contains(error.Message, value, $"{name} = {value}");
        }
    }

    [TestMethod]
    public void CreateRejectsBadRunArguments()
    {
        var o = new LearningRateScheduleOptions();
        Assert.AreEqual("peakLr", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => LearningRateSchedules.Create(o, 0, 10, 5, 0, true)).ParamName);
        Assert.AreEqual("stepsPerEpoch", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => LearningRateSchedules.Create(o, 0.1, 0, 5, 0, true)).ParamName);
        Assert.AreEqual("epochs", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => LearningRateSchedules.Create(o, 0.1, 10, 0, 0, true)).ParamName);
        var warmup = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => LearningRateSchedules.Create(o, 0.1, 10, 5, 50, true));
        Assert.AreEqual("warmupSteps", warmup.ParamName);
        StringAssert.Contains(warmup.Message, "50");
        Assert.AreEqual("Gamma", Assert.Throws<ArgumentException>(() => LearningRateSchedules.Create(new() { Gamma = 2 }, 0.1, 10, 5, 0, true)).ParamName);
    }

    private sealed class ToleranceComparer(double tolerance) : System.Collections.IComparer
    {
        public int Compare(object? x, object? y) => Math.Abs((double)x! - (double)y!) <= tolerance ? 0 : ((double)x!).CompareTo((double)y!);
    }
}
