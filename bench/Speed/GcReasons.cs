using System.Diagnostics.Tracing;

namespace Lightweight.ML.Bench.Speed;

/// <summary>
/// Records every .NET garbage collection started while it is alive, as <c>gen{depth}:reason{n}</c> from the runtime's
/// <c>GCStart</c> event (reason 0: small-object allocation budget, 4: large-object allocation budget, 1: induced): which
/// collections land in a latency measurement, and why.
/// </summary>
internal sealed class GcReasons : EventListener
{
    private readonly List<string> _seen = [];

    /// <summary>The collections so far, in order.</summary>
    public IReadOnlyList<string> Seen
    {
        get
        {
            lock (_seen) return _seen.ToArray();
        }
    }

    protected override void OnEventSourceCreated(EventSource source)
    {
        const long GcKeyword = 0x1;
        if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Informational, (EventKeywords)GcKeyword);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is not ("GCStart_V2" or "GCStart_V1" or "GCStart") || e.PayloadNames is not { } names || e.Payload is not { } values) return;
        int depth = names.IndexOf("Depth"), reason = names.IndexOf("Reason");
        if (depth < 0 || reason < 0) return;
        lock (_seen) _seen.Add($"gen{values[depth]}:reason{values[reason]}");
    }
}
