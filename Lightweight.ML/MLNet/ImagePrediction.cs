namespace Lightweight.ML;

/// <summary>
/// The prediction for one image: the output class for
/// <c>mlContext.Model.CreatePredictionEngine&lt;ImageInput, ImagePrediction&gt;(model)</c> when the pipeline ends with
/// <c>MapKeyToValue("PredictedLabel")</c>.
/// </summary>
public sealed class ImagePrediction
{
    /// <summary>The most probable class name.</summary>
    public string PredictedLabel { get; set; } = "";

    /// <summary>Softmax probabilities, one per class, in the order of the label's key values (the Score column's SlotNames).</summary>
    public float[] Score { get; set; } = [];
}
