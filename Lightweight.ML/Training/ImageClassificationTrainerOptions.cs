using Lightweight.ML.Models;
using Microsoft.ML;

namespace Lightweight.ML;

/// <summary>
/// Settings shared by every image-classification trainer of the zoo (data columns, input, optimisation, device).
/// Each architecture adds its own options in a derived class (<see cref="ShuffleNetV2Options"/>, <see cref="GhostNetOptions"/>).
/// Values are checked when the trainer is created and again at <c>Fit</c>; a bad value throws an
/// <see cref="ArgumentException"/> naming the option.
/// </summary>
public abstract class ImageClassificationTrainerOptions
{
    /// <summary>Key-typed label column (use <c>MapValueToKey</c> first). Default <c>"Label"</c>.</summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>Image column of ML.NET's <c>MLImage</c> type, as <c>LoadImages</c> makes. Default <c>"Image"</c>.</summary>
    public string ImageColumnName { get; set; } = "Image";

    /// <summary>
    /// Text column with the image's path, used only to name the file in error messages (and to load validation images
    /// when <see cref="ValidationSet"/> has no image column). Default <c>"ImagePath"</c>; ignored when absent.
    /// </summary>
    public string ImagePathColumnName { get; set; } = "ImagePath";

    /// <summary>Output column of softmax probabilities. Default <c>"Score"</c>; must differ from the input column names.</summary>
    public string ScoreColumnName { get; set; } = "Score";

    /// <summary>Output key column of the most probable class. Default <c>"PredictedLabel"</c>; must differ from the input column names.</summary>
    public string PredictedLabelColumnName { get; set; } = "PredictedLabel";

    /// <summary>Side of the square network input in pixels; images are resized to it. Default 224; 16 to 4096.</summary>
    public int ImageSize { get; set; } = 224;

    /// <summary>
    /// 1 (default): every image is squashed to <see cref="ImageSize"/>². Below 1, e.g. 0.875: the deterministic resize +
    /// centre crop of torchvision's evaluation transform (shorter side to ImageSize / fraction, central square), used for
    /// training (before augmentation) and scoring alike. In [0.25, 1].
    /// </summary>
    public double CenterCropFraction { get; set; } = 1.0;

    /// <summary>Input channels: 3 (RGB, default) or 1 (grayscale, luma).</summary>
    public int InputChannels { get; set; } = 3;

    /// <summary>
    /// Use the small-input stem (stride-1 first convolution, no max-pool, as CIFAR variants do). Default <c>null</c>:
    /// on when <see cref="ImageSize"/> ≤ 64.
    /// </summary>
    public bool? SmallInputStem { get; set; }

    /// <summary>Per-channel mean for normalisation, one per input channel. Default <c>null</c>: ImageNet's.</summary>
    public float[]? Mean { get; set; }

    /// <summary>Per-channel standard deviation for normalisation, one per input channel. Default <c>null</c>: ImageNet's.</summary>
    public float[]? Std { get; set; }

    /// <summary>
    /// Training-time augmentation (random resized crop, flip, colour jitter, random erasing), drawn per image from the
    /// trainer's seed. Default <c>null</c>: none. Scoring never augments: a fitted model is deterministic. For small
    /// images try <c>new AugmentationOptions { CropScale = (0.6, 1.0) }</c>; torchvision's ImageNet policy is
    /// <c>new AugmentationOptions()</c>.
    /// </summary>
    public AugmentationOptions? Augmentation { get; set; }

    /// <summary>Passes over the training data. Default 10; at least 1.</summary>
    public int Epochs { get; set; } = 10;

    /// <summary>Images per optimizer step, and per forward when scoring. Default 64; 2 to 65536.</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>Optimizer. Default <see cref="ImageClassifierOptimizer.Sgd"/> (with Nesterov momentum).</summary>
    public ImageClassifierOptimizer Optimizer { get; set; } = ImageClassifierOptimizer.Sgd;

    /// <summary>
    /// Peak learning rate, reached after warm-up and then following <see cref="LearningRateSchedule"/>. Default <c>null</c>:
    /// 0.1 × <see cref="BatchSize"/> / 256 for SGD (linear scaling), 0.001 for AdamW. Must be positive and finite.
    /// </summary>
    public double? LearningRate { get; set; }

    /// <summary>SGD momentum. Default 0.9; in [0, 1).</summary>
    public double Momentum { get; set; } = 0.9;

    /// <summary>Nesterov momentum for SGD. Default <c>true</c>.</summary>
    public bool Nesterov { get; set; } = true;

    /// <summary>
    /// Weight decay (L2 for SGD, decoupled for AdamW) of convolution and linear weights; batch-norm parameters and biases
    /// are never decayed. Default <c>null</c>: 4e-5 for SGD (the ShuffleNetV2 recipe), 0.05 for AdamW. At least 0.
    /// </summary>
    public double? WeightDecay { get; set; }

    /// <summary>Label smoothing of the cross-entropy loss. Default 0.1; in [0, 1).</summary>
    public double LabelSmoothing { get; set; } = 0.1;

    /// <summary>Epochs of linear learning-rate warm-up from 0 before the schedule. Default 0; in [0, <see cref="Epochs"/>).</summary>
    public double WarmupEpochs { get; set; }

    /// <summary>
    /// How the learning rate moves per step after warm-up: cosine to 0 (default), linear to 0, step, multi-step, one-cycle
    /// or reduce-on-plateau. The current rate is reported in <see cref="TrainingProgress.LearningRate"/>.
    /// </summary>
    public LearningRateScheduleOptions LearningRateSchedule { get; set; } = new();

    /// <summary>Torch device: <c>"cpu"</c> (default), <c>"cuda"</c>, <c>"cuda:1"</c>… CUDA needs a CUDA libtorch package.</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>Intra-op threads for libtorch (<c>torch.set_num_threads</c>). Default <c>null</c>: one per core.</summary>
    public int? NumberOfThreads { get; set; }

    /// <summary>
    /// What runs the network when the fitted model scores. Default <see cref="ScoringEngine.Auto"/>: ONNX Runtime on the
    /// CPU, TorchSharp on a GPU. Training always runs in TorchSharp. Also settable on the fitted transformer.
    /// </summary>
    public ScoringEngine ScoringEngine { get; set; } = ScoringEngine.Auto;

    /// <summary>Seed for weight initialisation, shuffling and dropout. Default <c>null</c>: drawn from the <c>MLContext</c>'s seed.</summary>
    public int? Seed { get; set; }

    /// <summary>
    /// Optional validation data, evaluated after every epoch (loss and accuracy reported through the log channel and
    /// <see cref="Progress"/>). Either the same raw form as the training input of the pipeline (text label and
    /// <see cref="ImagePathColumnName"/>), or already transformed (key label and image column).
    /// </summary>
    public IDataView? ValidationSet { get; set; }

    /// <summary>
    /// Fraction of the training data held out, stratified by class, as validation set when <see cref="ValidationSet"/> is
    /// not given. Default 0 (none); in [0, 0.5]. Drawn with the trainer's seed, so resuming holds out the same images.
    /// </summary>
    public double ValidationFraction { get; set; }

    /// <summary>Stop when validation accuracy has not improved for this many epochs. Default <c>null</c> (never); at least 1.</summary>
    public int? EarlyStoppingPatience { get; set; }

    /// <summary>
    /// Return the weights of the epoch with the best validation accuracy rather than the last epoch's. Default <c>true</c>;
    /// has an effect only with validation data.
    /// </summary>
    public bool RestoreBestWeights { get; set; } = true;

    /// <summary>
    /// After training, re-estimate batch-norm running statistics over this many training batches in train mode without
    /// gradients (cumulative average), as the ShuffleNetV2 reference does. Default 0 (off); at least 0.
    /// </summary>
    public int BatchNormRecalibrationBatches { get; set; }

    /// <summary>Clip the global gradient norm to this value before each step. Default <c>null</c> (no clipping); positive.</summary>
    public double? GradientClipNorm { get; set; }

    /// <summary>
    /// Folder for checkpoints (<c>checkpoints/last.ckpt</c>, <c>checkpoints/best.ckpt</c>) and training reports, updated
    /// every epoch: <c>metrics.csv</c>, TensorBoard event files in <c>tensorboard/</c>, and <c>loss.png</c>,
    /// <c>accuracy.png</c>, <c>lr.png</c>, <c>confusion_matrix.png</c>. Default <c>null</c>: nothing is written. Created if missing;
    /// a file where it, its <c>checkpoints</c> folder or <c>checkpoints/last.ckpt</c> must go is rejected before training.
    /// </summary>
    public string? OutputDirectory { get; set; }

    /// <summary>Write <c>last.ckpt</c> every this many epochs (and after the last one). Default 1; at least 1. Needs <see cref="OutputDirectory"/>.</summary>
    public int CheckpointEveryEpochs { get; set; } = 1;

    /// <summary>
    /// Continue from <c>OutputDirectory/checkpoints/last.ckpt</c> when it exists; on CPU with the same seed and data this
    /// reaches the same weights as an uninterrupted run. Default <c>false</c>.
    /// </summary>
    public bool Resume { get; set; }

    /// <summary>
    /// Weights to start from instead of random initialisation (fine-tuning): a <c>.safetensors</c> file with
    /// torchvision/timm key names (e.g. converted from PyTorch, or written by <see cref="ModelWeights.Save"/>), or a
    /// TorchSharp <c>Module.save</c> file (any other extension, <c>.dat</c> by convention). Everything but the classifier
    /// must match the architecture these options build (size, width, <see cref="InputChannels"/>); the classifier is
    /// loaded too when the file's has as many classes as the training data, and is otherwise freshly initialised for the
    /// new class count. Default <c>null</c>: random initialisation. A missing or corrupt file, or one for another
    /// architecture, throws an <see cref="ArgumentException"/> naming this option and the file before training starts.
    /// </summary>
    public string? PretrainedWeights { get; set; }

    /// <summary>
    /// Train only the classifier for this many epochs at the start, then the whole network. While the backbone is frozen
    /// its parameters get no gradients and are not updated (not even by weight decay), and its batch-norm layers run in
    /// eval mode: they normalise with, and keep, the running statistics of the starting weights, so the frozen backbone
    /// computes exactly the features of the pretrained network. Dropout still applies. A value of at least
    /// <see cref="Epochs"/> trains the classifier only (linear probing); then leave
    /// <see cref="BatchNormRecalibrationBatches"/> at 0, which would re-estimate the backbone's statistics after training
    /// and so change the features the classifier was trained on. Default 0; at least 0. Usually combined with
    /// <see cref="PretrainedWeights"/>.
    /// </summary>
    public int FreezeBackboneEpochs { get; set; }

    /// <summary>Stops training within one batch: <c>Fit</c> throws <see cref="OperationCanceledException"/>; the last checkpoint stays valid.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>Receives one <see cref="TrainingProgress"/> per epoch. Default <c>null</c>.</summary>
    public IProgress<TrainingProgress>? Progress { get; set; }

    /// <summary>Short architecture name used for logging, e.g. <c>"ShuffleNetV2-0.5x"</c>.</summary>
    public abstract string ModelName { get; }

    /// <summary>Builds a freshly initialised network for these options.</summary>
    /// <param name="numClasses">Number of classes.</param>
    public abstract ImageClassifierModel CreateModel(int numClasses);

    internal bool UseSmallInputStem => SmallInputStem ?? ImageSize <= 64;

    internal double EffectiveLearningRate => LearningRate ?? (Optimizer == ImageClassifierOptimizer.Sgd ? 0.1 * BatchSize / 256 : 1e-3);

    internal double EffectiveWeightDecay => WeightDecay ?? (Optimizer == ImageClassifierOptimizer.Sgd ? 4e-5 : 0.05);

    internal ImagePreprocessing CreatePreprocessing()
    {
        if (InputChannels is not (1 or 3))
            throw new ArgumentOutOfRangeException(nameof(InputChannels), InputChannels, "InputChannels must be 1 (grayscale) or 3 (RGB).");
        if (ImageSize is < 16 or > 4096)
            throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "ImageSize must be between 16 and 4096 pixels.");
        if (Mean is not null && Mean.Length != InputChannels)
            throw new ArgumentException($"Mean has {Mean.Length} value(s) but InputChannels is {InputChannels}.", nameof(Mean));
        if (Std is not null && Std.Length != InputChannels)
            throw new ArgumentException($"Std has {Std.Length} value(s) but InputChannels is {InputChannels}.", nameof(Std));
        if (Std is not null && Std.Any(v => !(v > 0) || float.IsInfinity(v)))
            throw new ArgumentOutOfRangeException(nameof(Std), $"Std values must be positive and finite; got [{string.Join(", ", Std)}].");
        if (Mean is not null && Mean.Any(v => !float.IsFinite(v)))
            throw new ArgumentOutOfRangeException(nameof(Mean), $"Mean values must be finite; got [{string.Join(", ", Mean)}].");
        if (!(CenterCropFraction >= 0.25 && CenterCropFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(CenterCropFraction), CenterCropFraction, "CenterCropFraction must be in [0.25, 1].");
        return new ImagePreprocessing(ImageSize, InputChannels, Mean, Std, CenterCropFraction);
    }

    /// <summary>Checks every option; throws an <see cref="ArgumentException"/> naming the first bad one.</summary>
    public virtual void Validate()
    {
        RequireName(LabelColumnName, nameof(LabelColumnName));
        RequireName(ImageColumnName, nameof(ImageColumnName));
        RequireName(ScoreColumnName, nameof(ScoreColumnName));
        RequireName(PredictedLabelColumnName, nameof(PredictedLabelColumnName));
        if (ScoreColumnName == PredictedLabelColumnName)
            throw new ArgumentException($"ScoreColumnName and PredictedLabelColumnName are both '{ScoreColumnName}'.", nameof(PredictedLabelColumnName));
        RequireOutputDistinctFromInputs(ScoreColumnName, nameof(ScoreColumnName));
        RequireOutputDistinctFromInputs(PredictedLabelColumnName, nameof(PredictedLabelColumnName));
        CreatePreprocessing();
        if (Epochs < 1)
            throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "Epochs must be at least 1.");
        if (BatchSize is < 2 or > 65536)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be between 2 and 65536 (batch norm needs 2 images per step).");
        if (!Enum.IsDefined(Optimizer))
            throw new ArgumentOutOfRangeException(nameof(Optimizer), Optimizer, $"Unknown optimizer; expected one of {string.Join(", ", Enum.GetNames<ImageClassifierOptimizer>())}.");
        if (LearningRate is { } lr && !(lr > 0 && double.IsFinite(lr)))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), lr, "LearningRate must be positive and finite.");
        if (!(Momentum >= 0 && Momentum < 1))
            throw new ArgumentOutOfRangeException(nameof(Momentum), Momentum, "Momentum must be in [0, 1).");
        if (WeightDecay is { } wd && !(wd >= 0 && double.IsFinite(wd)))
            throw new ArgumentOutOfRangeException(nameof(WeightDecay), wd, "WeightDecay must be finite and at least 0.");
        if (!(LabelSmoothing >= 0 && LabelSmoothing < 1))
            throw new ArgumentOutOfRangeException(nameof(LabelSmoothing), LabelSmoothing, "LabelSmoothing must be in [0, 1).");
        if (!(WarmupEpochs >= 0 && WarmupEpochs < Epochs))
            throw new ArgumentOutOfRangeException(nameof(WarmupEpochs), WarmupEpochs, $"WarmupEpochs must be in [0, Epochs={Epochs}).");
        if (NumberOfThreads is < 1)
            throw new ArgumentOutOfRangeException(nameof(NumberOfThreads), NumberOfThreads, "NumberOfThreads must be at least 1.");
        RequireName(Device, nameof(Device));
        if (!Enum.IsDefined(ScoringEngine))
            throw new ArgumentOutOfRangeException(nameof(ScoringEngine), ScoringEngine, "Unknown ScoringEngine.");
        Augmentation?.Validate();
        if (LearningRateSchedule is null)
            throw new ArgumentNullException(nameof(LearningRateSchedule), "LearningRateSchedule must be set (default: cosine).");
        LearningRateSchedule.Validate();
        if (!(ValidationFraction >= 0 && ValidationFraction <= 0.5))
            throw new ArgumentOutOfRangeException(nameof(ValidationFraction), ValidationFraction, "ValidationFraction must be in [0, 0.5].");
        if (EarlyStoppingPatience is < 1)
            throw new ArgumentOutOfRangeException(nameof(EarlyStoppingPatience), EarlyStoppingPatience, "EarlyStoppingPatience must be at least 1.");
        if (BatchNormRecalibrationBatches < 0)
            throw new ArgumentOutOfRangeException(nameof(BatchNormRecalibrationBatches), BatchNormRecalibrationBatches, "BatchNormRecalibrationBatches must be at least 0.");
        if (GradientClipNorm is { } clip && !(clip > 0 && double.IsFinite(clip)))
            throw new ArgumentOutOfRangeException(nameof(GradientClipNorm), clip, "GradientClipNorm must be positive and finite.");
        if (CheckpointEveryEpochs < 1)
            throw new ArgumentOutOfRangeException(nameof(CheckpointEveryEpochs), CheckpointEveryEpochs, "CheckpointEveryEpochs must be at least 1.");
        if (Resume && string.IsNullOrWhiteSpace(OutputDirectory))
            throw new ArgumentException("Resume needs an OutputDirectory holding the checkpoints.", nameof(Resume));
        CheckOutputDirectory();
        if (FreezeBackboneEpochs < 0)
            throw new ArgumentOutOfRangeException(nameof(FreezeBackboneEpochs), FreezeBackboneEpochs, "FreezeBackboneEpochs must be at least 0.");
        if (PretrainedWeights is not null && string.IsNullOrWhiteSpace(PretrainedWeights))
            throw new ArgumentException("PretrainedWeights must be a file path, or null for random initialisation.", nameof(PretrainedWeights));
        if (PretrainedWeights is not null && Directory.Exists(PretrainedWeights))
            throw new ArgumentException($"PretrainedWeights '{PretrainedWeights}' is a directory; expected a .safetensors or TorchSharp weights file.",
                nameof(PretrainedWeights));
        if (PretrainedWeights is not null && !File.Exists(PretrainedWeights))
            throw new ArgumentException($"PretrainedWeights file '{PretrainedWeights}' was not found.", nameof(PretrainedWeights),
                new FileNotFoundException($"Could not find file '{Path.GetFullPath(PretrainedWeights)}'.", PretrainedWeights));
    }

    /// <summary>
    /// Checks the <c>Width</c> and <c>DropoutRate</c> options of the width-multiplier trainers (GhostNet, MobileNetV2):
    /// width in (0, 4], dropout in [0, 1); the exception names the option.
    /// </summary>
    private protected static void RequireWidthAndDropout(float width, float dropoutRate)
    {
        if (!(width > 0 && width <= 4))
            throw new ArgumentOutOfRangeException("Width", width, "Width must be in (0, 4].");
        if (!(dropoutRate >= 0 && dropoutRate < 1))
            throw new ArgumentOutOfRangeException("DropoutRate", dropoutRate, "DropoutRate must be in [0, 1).");
    }

    /// <summary>An output column named like an input column would hide it (e.g. Evaluate would read Score as the label).</summary>
    private void RequireOutputDistinctFromInputs(string output, string option)
    {
        foreach (var (input, inputOption) in new[]
                 {
                     (LabelColumnName, nameof(LabelColumnName)), (ImageColumnName, nameof(ImageColumnName)), (ImagePathColumnName, nameof(ImagePathColumnName)),
                 })
            if (output == input)
                throw new ArgumentException($"{option} '{output}' is also the {inputOption}: the output column would hide that input column. " +
                                            "Choose another name.", option);
    }

    /// <summary>
    /// Fails before training, not after the first epoch, when a file stands where the output directory, its
    /// <c>checkpoints</c> folder or <c>checkpoints/last.ckpt</c> has to go. Creates nothing.
    /// </summary>
    private void CheckOutputDirectory()
    {
        if (string.IsNullOrWhiteSpace(OutputDirectory)) return;
        string checkpoints = Path.Combine(OutputDirectory, "checkpoints"), last = Path.Combine(checkpoints, "last.ckpt");
        string? problem = File.Exists(OutputDirectory) ? $"OutputDirectory '{OutputDirectory}' is a file; expected a directory (it is created when missing)."
            : File.Exists(checkpoints) ? $"OutputDirectory '{OutputDirectory}' holds a file named 'checkpoints' where the checkpoint folder goes."
            : Directory.Exists(last) ? $"OutputDirectory '{OutputDirectory}' holds a directory '{last}' where the checkpoint file goes."
            : null;
        if (problem is not null) throw new ArgumentException(problem, nameof(OutputDirectory));
    }

    private static void RequireName(string? value, string option)
    {
        if (string.IsNullOrWhiteSpace(value))
            throw new ArgumentException($"{option} must be a non-empty column name.", option);
    }
}
