using Microsoft.ML;

namespace Lightweight.ML;

/// <summary>
/// Entry point of the model sweeps, <c>mlContext.LightweightAuto()</c>, in the spirit of ML.NET AutoML's
/// <c>mlContext.Auto()</c> (which knows nothing of these trainers).
/// </summary>
public sealed class LightweightAutoCatalog
{
    private readonly MLContext _ml;

    internal LightweightAutoCatalog(MLContext ml) => _ml = ml;

    /// <summary>An experiment over the zoo's architectures and sizes with the given settings.</summary>
    /// <param name="settings">Models, hyper-parameters, budget, objective and output folder.</param>
    public ImageClassificationExperiment CreateImageClassificationExperiment(ImageClassificationExperimentSettings settings)
        => new(_ml, settings);

    /// <summary>An experiment over <see cref="ModelNames.Standard"/> with default settings and the given time budget.</summary>
    /// <param name="maxExperimentTime">Wall-clock budget.</param>
    public ImageClassificationExperiment CreateImageClassificationExperiment(TimeSpan maxExperimentTime)
        => new(_ml, new ImageClassificationExperimentSettings { MaxExperimentTime = maxExperimentTime });
}
