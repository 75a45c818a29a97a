namespace Lightweight.ML.Tests.Sweep;

[TestClass]
public sealed class ParetoFrontTests
{
    private sealed record Point(string Name, double Accuracy, double Latency);

    [TestMethod]
    public void FrontOfAHandMadeTable()
    {
        Point[] table =
        [
            new("a", 0.80, 1.0),   // fastest: on the front
            new("b", 0.85, 2.0),   // on the front
            new("c", 0.84, 2.5),   // dominated by b (less accurate, slower)
            new("d", 0.85, 3.0),   // dominated by b (as accurate, slower)
            new("e", 0.90, 5.0),   // most accurate: on the front
            new("f", 0.79, 1.0),   // dominated by a (as fast, less accurate)
            new("g", 0.88, 4.0),   // on the front
            new("h", double.NaN, 0.5), // no accuracy: left out
        ];
        var front = ParetoFront.Compute(table, p => p.Accuracy, p => p.Latency);
        CollectionAssert.AreEqual(new[] { "a", "b", "g", "e" }, front.Select(p => p.Name).ToArray());
    }

    [TestMethod]
    public void IdenticalPointsBothStayAndEmptyInputGivesEmptyFront()
    {
        Point[] twins = [new("x", 0.9, 1.0), new("y", 0.9, 1.0)];
        Assert.AreEqual(2, ParetoFront.Compute(twins, p => p.Accuracy, p => p.Latency).Count);
        Assert.AreEqual(0, ParetoFront.Compute(Array.Empty<Point>(), p => p.Accuracy, p => p.Latency).Count);
    }
}
