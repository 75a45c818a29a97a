using Microsoft.ML;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace Lightweight.ML.Data;

/// <summary>Reads a whole labelled <see cref="IDataView"/> into <see cref="LabeledImages"/>, decoding each image once.</summary>
internal static class LabeledImageReader
{
    /// <summary>Reads every row.</summary>
    /// <param name="data">The data: key-typed label (or text label naming a class) and an image or path column.</param>
    /// <param name="options">Column names.</param>
    /// <param name="classNames">Class names in key order; text labels are mapped through them.</param>
    /// <param name="preprocessing">Target size and channels.</param>
    /// <param name="what">"training" or "validation", for messages.</param>
    public static LabeledImages Read(IDataView data, ImageClassificationTrainerOptions options, IReadOnlyList<string> classNames,
        ImagePreprocessing preprocessing, string what)
    {
        var schema = data.Schema;
        var label = schema.GetColumnOrNull(options.LabelColumnName)
            ?? throw new ArgumentException($"The {what} data has no label column '{options.LabelColumnName}'.", nameof(options.LabelColumnName));
        var labelOf = LabelMapper(label, classNames, what);
        var columns = ImageRowReader.RequiredColumns(schema, options.ImageColumnName, options.ImagePathColumnName, allowPathOnly: what != "training")
            .Append(label);

        var labels = new List<long>();
        using var builder = new ImageBatchBuilder(preprocessing);
        using (var cursor = data.GetRowCursor(columns))
        {
            var reader = ImageRowReader.Create(cursor, options.ImageColumnName, options.ImagePathColumnName);
            var getLabel = labelOf(cursor);
            while (cursor.MoveNext())
            {
                labels.Add(getLabel());
                reader.AddTo(builder);
            }
        }
        var images = builder.Build();
        return new LabeledImages(images, tensor(labels.ToArray(), ScalarType.Int64));
    }

    private static Func<DataViewRow, Func<long>> LabelMapper(DataViewSchema.Column label, IReadOnlyList<string> classNames, string what)
    {
        if (label.Type is KeyDataViewType key && key.RawType == typeof(uint))
        {
            if (key.Count != (ulong)classNames.Count)
                throw new ArgumentException($"The {what} label column '{label.Name}' has {key.Count} keys but the model has {classNames.Count} classes.");
            return row =>
            {
                var get = row.GetGetter<uint>(label);
                uint value = 0;
                return () =>
                {
                    get(ref value);
                    if (value == 0)
                        throw new InvalidDataException($"Row {row.Position} of the {what} data has a missing label in column '{label.Name}' " +
                                                       "(key 0: a label value not seen when the keys were made, or empty).");
                    return value - 1;
                };
            };
        }
        if (label.Type is TextDataViewType)
        {
            var index = classNames.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => (long)p.i);
            return row =>
            {
                var get = row.GetGetter<ReadOnlyMemory<char>>(label);
                ReadOnlyMemory<char> value = default;
                return () =>
                {
                    get(ref value);
                    var name = value.ToString();
                    return index.TryGetValue(name, out var i) ? i
                        : throw new InvalidDataException($"Row {row.Position} of the {what} data has label '{name}', which is not one of the " +
                                                         $"{classNames.Count} training classes.");
                };
            };
        }
        throw new ArgumentException($"The {what} label column '{label.Name}' has type {label.Type}; expected a key type " +
                                    "(add MapValueToKey(\"" + label.Name + "\") before the trainer).");
    }
}
