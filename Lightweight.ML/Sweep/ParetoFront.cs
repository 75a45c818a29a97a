namespace Lightweight.ML;

/// <summary>The accuracy/cost trade-off of a set of trials: the ones no other trial beats on both counts.</summary>
public static class ParetoFront
{
    /// <summary>
    /// The items not dominated by another: an item is dominated when another has at least its accuracy at no more
    /// than its cost, and is strictly better on one of the two. Items with a NaN accuracy or cost are left out. The
    /// result is ordered by cost, cheapest first (so accuracy rises along it).
    /// </summary>
    /// <param name="items">Candidates, e.g. trials.</param>
    /// <param name="accuracy">Higher is better.</param>
    /// <param name="cost">Lower is better, e.g. latency or parameters.</param>
    public static IReadOnlyList<T> Compute<T>(IEnumerable<T> items, Func<T, double> accuracy, Func<T, double> cost)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(accuracy);
        ArgumentNullException.ThrowIfNull(cost);
        var points = items.Select(item => (Item: item, Accuracy: accuracy(item), Cost: cost(item)))
            .Where(p => !double.IsNaN(p.Accuracy) && !double.IsNaN(p.Cost))
            .ToList();
        return points
            .Where(p => !points.Any(q => q.Accuracy >= p.Accuracy && q.Cost <= p.Cost && (q.Accuracy > p.Accuracy || q.Cost < p.Cost)))
            .OrderBy(p => p.Cost).ThenByDescending(p => p.Accuracy)
            .Select(p => p.Item)
            .ToList();
    }
}
