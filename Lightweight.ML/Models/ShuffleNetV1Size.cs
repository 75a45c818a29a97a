namespace Lightweight.ML;

/// <summary>
/// Width multiplier of a ShuffleNetV1 (the paper's 0.5×, 1.0×, 1.5× and 2.0× models). Parameter counts below are for
/// 3 groups and 1000 classes; see <see cref="Models.ShuffleNetV1"/> for the other group counts.
/// </summary>
public enum ShuffleNetV1Size
{
    /// <summary>0.5× channels: 717,324 parameters at g = 3 (38 MFLOPs at 224 px).</summary>
    X0_5,
    /// <summary>1.0× channels (the paper's Table 1): 1,864,728 parameters at g = 3 (138 MFLOPs at 224 px).</summary>
    X1_0,
    /// <summary>1.5× channels: 3,441,168 parameters at g = 3 (292 MFLOPs at 224 px).</summary>
    X1_5,
    /// <summary>2.0× channels: 5,449,776 parameters at g = 3 (524 MFLOPs at 224 px).</summary>
    X2_0,
}
