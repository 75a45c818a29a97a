using System.Collections.Concurrent;
using Microsoft.ML;

namespace Lightweight.ML;

/// <summary>
/// Thread-safe single-example scoring for web apps and services, in the spirit of Microsoft.Extensions.ML's
/// <c>PredictionEnginePool</c> (which is not available here). ML.NET's <see cref="PredictionEngine{TSrc, TDst}"/> is
/// not thread-safe; this pool lends each call its own engine, creating one when none is free and keeping up to
/// <see cref="MaximumRetained"/> idle engines for reuse. Engines never own the model: disposing the pool disposes its
/// engines, never <see cref="Model"/> (dispose the fitted model yourself when the pool is gone).
/// <code>
/// using var pool = mlContext.Model.CreatePredictionEnginePool&lt;ImageInput, ImagePrediction&gt;(model);
/// // from any number of threads:
/// ImagePrediction p = pool.Predict(new ImageInput { ImagePath = "shoe.png" });
/// </code>
/// </summary>
/// <typeparam name="TInput">The input row class (e.g. <see cref="ImageInput"/>).</typeparam>
/// <typeparam name="TOutput">The prediction class (e.g. <see cref="ImagePrediction"/>).</typeparam>
public sealed class PredictionEnginePool<TInput, TOutput> : IDisposable
    where TInput : class
    where TOutput : class, new()
{
    private readonly ModelOperationsCatalog _catalog;
    private readonly ConcurrentBag<PredictionEngine<TInput, TOutput>> _idle = [];
    private int _idleCount;
    private volatile bool _disposed;

    /// <summary>Creates a pool over a fitted model (any ITransformer, e.g. a whole fitted pipeline).</summary>
    /// <param name="mlContext">The ML.NET context the engines are created from.</param>
    /// <param name="model">The fitted model; it must stay alive (not disposed) as long as the pool is used.</param>
    /// <param name="maximumRetained">Idle engines kept for reuse; default twice the processor count. At least 1.</param>
    public PredictionEnginePool(MLContext mlContext, ITransformer model, int? maximumRetained = null)
        : this((mlContext ?? throw new ArgumentNullException(nameof(mlContext))).Model, model, maximumRetained) { }

    internal PredictionEnginePool(ModelOperationsCatalog catalog, ITransformer model, int? maximumRetained)
    {
        ArgumentNullException.ThrowIfNull(model);
        int retained = maximumRetained ?? 2 * Environment.ProcessorCount;
        if (retained < 1)
            throw new ArgumentOutOfRangeException(nameof(maximumRetained), retained, "maximumRetained must be at least 1.");
        (_catalog, Model, MaximumRetained) = (catalog, model, retained);
        Return(Create()); // fail here, not on the first request, if the model does not fit TInput/TOutput
    }

    /// <summary>The fitted model the engines score with (not owned by the pool).</summary>
    public ITransformer Model { get; }

    /// <summary>The largest number of idle engines kept for reuse.</summary>
    public int MaximumRetained { get; }

    /// <summary>Idle engines currently kept for reuse (at most <see cref="MaximumRetained"/>).</summary>
    public int IdleCount => Math.Clamp(Volatile.Read(ref _idleCount), 0, MaximumRetained);

    /// <summary>Scores one example; safe to call from many threads at once.</summary>
    public TOutput Predict(TInput example)
    {
        var engine = Rent();
        try { return engine.Predict(example); }
        finally { Return(engine); }
    }

    /// <summary>
    /// Lends an engine for several predictions on one thread; give it back with <see cref="Return"/> (not Dispose).
    /// </summary>
    public PredictionEngine<TInput, TOutput> Rent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_idle.TryTake(out var engine))
        {
            Interlocked.Decrement(ref _idleCount);
            return engine;
        }
        return Create();
    }

    /// <summary>Gives back an engine from <see cref="Rent"/>; it is kept for reuse or disposed when enough are idle.</summary>
    public void Return(PredictionEngine<TInput, TOutput> engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        if (!_disposed && Interlocked.Increment(ref _idleCount) <= MaximumRetained)
        {
            _idle.Add(engine);
            if (!_disposed) return;
            DrainIdle(); // disposed meanwhile: do not keep it
            return;
        }
        if (!_disposed) Interlocked.Decrement(ref _idleCount);
        engine.Dispose();
    }

    /// <summary>Disposes the idle engines (engines on loan are disposed when returned); the model stays alive.</summary>
    public void Dispose()
    {
        _disposed = true;
        DrainIdle();
    }

    private PredictionEngine<TInput, TOutput> Create()
        => _catalog.CreatePredictionEngine<TInput, TOutput>(Model, new PredictionEngineOptions { OwnsTransformer = false });

    private void DrainIdle()
    {
        while (_idle.TryTake(out var engine)) engine.Dispose();
    }
}

/// <summary>Creates <see cref="PredictionEnginePool{TInput, TOutput}"/> from ML.NET's model catalog.</summary>
public static class PredictionEnginePoolCatalogExtensions
{
    /// <summary>
    /// A thread-safe pool of prediction engines over <paramref name="model"/>:
    /// <c>mlContext.Model.CreatePredictionEnginePool&lt;ImageInput, ImagePrediction&gt;(model)</c>.
    /// </summary>
    public static PredictionEnginePool<TInput, TOutput> CreatePredictionEnginePool<TInput, TOutput>(
        this ModelOperationsCatalog catalog, ITransformer model, int? maximumRetained = null)
        where TInput : class
        where TOutput : class, new()
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new PredictionEnginePool<TInput, TOutput>(catalog, model, maximumRetained);
    }
}
