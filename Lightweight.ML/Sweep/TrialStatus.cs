namespace Lightweight.ML;

/// <summary>How a trial ended.</summary>
public enum TrialStatus
{
    /// <summary>Trained to the end and validated.</summary>
    Completed,

    /// <summary>Training diverged (NaN or infinite loss); <see cref="TrialResult.Error"/> says where.</summary>
    Diverged,
}
