namespace Lightweight.ML;

/// <summary>
/// An image to classify, as <see cref="ImageFolderCatalogExtensions.LoadImagesFromFolder"/> lists them: the input
/// class for <c>mlContext.Model.CreatePredictionEngine&lt;ImageInput, ImagePrediction&gt;(model)</c>.
/// </summary>
public sealed class ImageInput
{
    /// <summary>Path of the image file (absolute, or relative to the <c>LoadImages</c> image folder).</summary>
    public string ImagePath { get; set; } = "";

    /// <summary>The class name; empty when unknown (scoring). Present so pipelines starting with <c>MapValueToKey("Label")</c> accept it.</summary>
    public string Label { get; set; } = "";
}
