using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lightweight.ML.MLNet;

/// <summary>
/// The two output columns every trainer of the zoo adds, built as ML.NET's own multiclass trainers build them:
/// <c>Score</c> (softmax probabilities, with <c>SlotNames</c>) and <c>PredictedLabel</c> (key, with <c>KeyValues</c>).
/// </summary>
internal sealed class ScoreColumns
{
    /// <summary>ML.NET's annotation kinds (AnnotationUtils.Kinds is internal).</summary>
    internal const string SlotNames = "SlotNames", KeyValues = "KeyValues", ScoreColumnKind = "ScoreColumnKind", ScoreValueKind = "ScoreValueKind";
    private readonly DataViewSchema.Annotations? _labelAnnotations;

    public ScoreColumns(string scoreName, string predictedLabelName, IReadOnlyList<string> classNames, DataViewSchema.Annotations? labelAnnotations)
    {
        ScoreName = scoreName;
        PredictedLabelName = predictedLabelName;
        ClassNames = classNames;
        _labelAnnotations = labelAnnotations?.Schema.GetColumnOrNull(KeyValues) is null ? null : labelAnnotations;
    }

    public string ScoreName { get; }
    public string PredictedLabelName { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public int Count => ClassNames.Count;

    /// <summary>The label column's annotations whose KeyValues PredictedLabel carries, if it had any.</summary>
    public DataViewSchema.Annotations? LabelAnnotations => _labelAnnotations;

    /// <summary><paramref name="input"/>'s columns followed by Score and PredictedLabel (which hide same-named inputs).</summary>
    public DataViewSchema Append(DataViewSchema input)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(input);

        var score = new DataViewSchema.Annotations.Builder();
        var slotNames = new VBuffer<ReadOnlyMemory<char>>(Count, ClassNames.Select(n => n.AsMemory()).ToArray());
        score.Add(SlotNames, new VectorDataViewType(TextDataViewType.Instance, Count),
            (ref VBuffer<ReadOnlyMemory<char>> value) => slotNames.CopyTo(ref value));
        AddText(score, ScoreColumnKind, "MulticlassClassification");
        AddText(score, ScoreValueKind, "Score");
        builder.AddColumn(ScoreName, new VectorDataViewType(NumberDataViewType.Single, Count), score.ToAnnotations());

        var predicted = new DataViewSchema.Annotations.Builder();
        if (_labelAnnotations is not null)
            predicted.Add(_labelAnnotations, name => name == KeyValues);
        AddText(predicted, ScoreColumnKind, "MulticlassClassification");
        AddText(predicted, ScoreValueKind, "PredictedLabel");
        builder.AddColumn(PredictedLabelName, new KeyDataViewType(typeof(uint), Count), predicted.ToAnnotations());
        return builder.ToSchema();
    }

    /// <summary>The same columns as an estimator's <see cref="SchemaShape"/>, before the class count is known.</summary>
    /// <param name="input">The input shape.</param>
    /// <param name="scoreName">Score column name.</param>
    /// <param name="predictedLabelName">PredictedLabel column name.</param>
    /// <param name="keyValues">The label's KeyValues annotation shape, copied onto PredictedLabel.</param>
    public static SchemaShape Append(SchemaShape input, string scoreName, string predictedLabelName, SchemaShape.Column? keyValues)
    {
        var columns = input.ToDictionary(c => c.Name);
        var text = TextDataViewType.Instance;
        var scoreKinds = new[]
        {
            MLNetInternals.CreateColumn(ScoreColumnKind, SchemaShape.Column.VectorKind.Scalar, text, false),
            MLNetInternals.CreateColumn(ScoreValueKind, SchemaShape.Column.VectorKind.Scalar, text, false),
        };
        var slotNames = MLNetInternals.CreateColumn(SlotNames, SchemaShape.Column.VectorKind.Vector, text, false);
        columns[scoreName] = MLNetInternals.CreateColumn(scoreName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false,
            new SchemaShape(scoreKinds.Prepend(slotNames)));
        var predictedAnnotations = keyValues is { } kv ? scoreKinds.Prepend(kv) : scoreKinds;
        columns[predictedLabelName] = MLNetInternals.CreateColumn(predictedLabelName, SchemaShape.Column.VectorKind.Scalar,
            NumberDataViewType.UInt32, true, new SchemaShape(predictedAnnotations));
        return new SchemaShape(columns.Values);
    }

    /// <summary>
    /// A getter for any column of a scored row: input columns come from <paramref name="input"/> (same index), the two
    /// output columns from <paramref name="current"/>.
    /// </summary>
    public ValueGetter<TValue> GetGetter<TValue>(DataViewRow input, bool[] active, DataViewSchema.Column column, Func<ReadOnlyMemory<float>> current)
    {
        if (!active[column.Index])
            throw new InvalidOperationException($"Column '{column.Name}' was not requested when this row or cursor was created.");
        return column.Index < input.Schema.Count
            ? input.GetGetter<TValue>(input.Schema[column.Index])
            : CreateGetter<TValue>(column, current);
    }

    /// <summary>
    /// A getter for output column <paramref name="column"/> (Score or PredictedLabel) that reads
    /// the probabilities of the current row from <paramref name="current"/>.
    /// </summary>
    public ValueGetter<TValue> CreateGetter<TValue>(DataViewSchema.Column column, Func<ReadOnlyMemory<float>> current)
    {
        if (column.Name == ScoreName && column.Type is VectorDataViewType)
        {
            CheckType<TValue, VBuffer<float>>(column);
            ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> value) =>
            {
                var probabilities = current().Span;
                var editor = VBufferEditor.Create(ref value, probabilities.Length);
                probabilities.CopyTo(editor.Values);
                value = editor.Commit();
            };
            return (ValueGetter<TValue>)(Delegate)getter;
        }
        CheckType<TValue, uint>(column);
        ValueGetter<uint> predicted = (ref uint value) =>
        {
            var probabilities = current().Span;
            int best = 0;
            for (int i = 1; i < probabilities.Length; i++)
                if (probabilities[i] > probabilities[best]) best = i;
            value = float.IsNaN(probabilities[best]) ? 0u : (uint)best + 1;
        };
        return (ValueGetter<TValue>)(Delegate)predicted;
    }

    private static void CheckType<TActual, TExpected>(DataViewSchema.Column column)
    {
        if (typeof(TActual) != typeof(TExpected))
            throw new InvalidOperationException($"Invalid TValue in GetGetter: '{typeof(TActual)}' for column '{column.Name}'; expected '{typeof(TExpected)}'.");
    }

    private static void AddText(DataViewSchema.Annotations.Builder builder, string name, string text)
    {
        var value = text.AsMemory();
        builder.Add(name, TextDataViewType.Instance, (ref ReadOnlyMemory<char> dst) => dst = value);
    }
}
