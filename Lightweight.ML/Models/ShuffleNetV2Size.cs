namespace Lightweight.ML;

/// <summary>Width multiplier of a ShuffleNetV2 (the paper's 0.5×, 1.0×, 1.5× and 2.0× models).</summary>
public enum ShuffleNetV2Size
{
    /// <summary>0.5× channels: 1,366,792 parameters at 1000 classes (41 MFLOPs at 224 px).</summary>
    X0_5,
    /// <summary>1.0× channels: 2,278,604 parameters at 1000 classes (146 MFLOPs at 224 px).</summary>
    X1_0,
    /// <summary>1.5× channels: 3,503,624 parameters at 1000 classes (299 MFLOPs at 224 px).</summary>
    X1_5,
    /// <summary>2.0× channels: 7,393,996 parameters at 1000 classes (591 MFLOPs at 224 px).</summary>
    X2_0,
}
