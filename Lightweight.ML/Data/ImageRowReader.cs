using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Lightweight.ML.Data;

/// <summary>
/// Reads the image of the current row of a cursor into an <see cref="ImageBatchBuilder"/>: from an <c>MLImage</c>
/// column when there is one, otherwise by decoding the file named in the path column. Any failure becomes an
/// <see cref="InvalidDataException"/> that names the file (when the row has a path) and the row. A file named in the path
/// column is first checked by <see cref="ImageFileCheck"/> (forged huge sizes, truncation), before anything decodes it.
/// </summary>
internal sealed class ImageRowReader
{
    private readonly DataViewRow _row;
    private readonly string _imageColumn;
    private readonly ValueGetter<MLImage>? _image;
    private readonly ValueGetter<ReadOnlyMemory<char>>? _path;
    private MLImage _current = null!;
    private ReadOnlyMemory<char> _pathValue;

    private ImageRowReader(DataViewRow row, string imageColumn, ValueGetter<MLImage>? image, ValueGetter<ReadOnlyMemory<char>>? path)
        => (_row, _imageColumn, _image, _path) = (row, imageColumn, image, path);

    /// <summary>
    /// The input columns a reader needs: the image column if the schema has one, and the path column if it has one.
    /// </summary>
    /// <exception cref="ArgumentException">Neither usable column exists, or the image column has the wrong type.</exception>
    public static DataViewSchema.Column[] RequiredColumns(DataViewSchema schema, string imageColumn, string? pathColumn, bool allowPathOnly)
    {
        var image = schema.GetColumnOrNull(imageColumn);
        var path = pathColumn is null ? null : schema.GetColumnOrNull(pathColumn);
        if (path is { } p && p.Type is not TextDataViewType) path = null;
        if (image is { } i && i.Type is not ImageDataViewType)
            throw new ArgumentException($"Image column '{imageColumn}' has type {i.Type}; expected Image (MLImage), as LoadImages produces.");
        if (image is null && !(allowPathOnly && path is not null))
            throw new ArgumentException(allowPathOnly
                ? $"Neither an image column '{imageColumn}' nor a text path column '{pathColumn}' was found; columns are: {Names(schema)}."
                : $"Image column '{imageColumn}' was not found; columns are: {Names(schema)}. Add LoadImages(\"{imageColumn}\", ...) before the trainer.");
        return new[] { image, path }.OfType<DataViewSchema.Column>().ToArray();
    }

    /// <summary>Creates a reader over <paramref name="row"/>, whose <see cref="RequiredColumns"/> must be active.</summary>
    public static ImageRowReader Create(DataViewRow row, string imageColumn, string? pathColumn)
    {
        var image = row.Schema.GetColumnOrNull(imageColumn);
        var path = pathColumn is null ? null : row.Schema.GetColumnOrNull(pathColumn);
        return new ImageRowReader(row, imageColumn,
            image is { } i ? row.GetGetter<MLImage>(i) : null,
            path is { Type: TextDataViewType } p ? row.GetGetter<ReadOnlyMemory<char>>(p) : null);
    }

    /// <summary>Adds the current row's image to <paramref name="builder"/>.</summary>
    /// <exception cref="InvalidDataException">The image is missing, unreadable, truncated, too large or undecodable.</exception>
    public void AddTo(ImageBatchBuilder builder)
    {
        string? path = null;
        if (_path is not null)
        {
            _path(ref _pathValue);
            path = _pathValue.ToString();
            if (path.Length > 0) ImageFileCheck.ThrowIfUnusable(path, _row.Position);
        }
        try
        {
            if (_image is not null)
            {
                _image(ref _current);
                if (_current is null)
                    throw new InvalidDataException($"Row {_row.Position} has no image in column '{_imageColumn}' (empty path?).");
                builder.Add(_current);
            }
            else
            {
                using var image = MLImage.CreateFromFile(path!);
                builder.Add(image);
            }
        }
        catch (Exception e) when (e is not InvalidDataException || path is not null)
        {
            throw new InvalidDataException(Describe(path, _row.Position, _imageColumn, e), e);
        }
    }

    private static string Describe(string? path, long row, string column, Exception error)
    {
        if (string.IsNullOrEmpty(path))
            return $"Could not read the image in row {row} of column '{column}': {error.Message}";
        var file = new FileInfo(path);
        if (!file.Exists) return $"Image file '{path}' (row {row}) does not exist.";
        if (file.Length == 0) return $"Image file '{path}' (row {row}) is empty (0 bytes).";
        return $"Image file '{path}' (row {row}) could not be decoded: it is corrupt or not in a format SkiaSharp reads " +
               $"(png, jpeg, bmp, gif, webp). {error.Message}";
    }

    private static string Names(DataViewSchema schema) => string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}'"));
}
