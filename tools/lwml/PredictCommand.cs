using System.CommandLine;
using System.Globalization;
using System.Text;
using Lightweight.ML.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Spectre.Console;

namespace Lightweight.ML.Cli;

/// <summary>
/// <c>lwml predict &lt;model&gt; &lt;image|folder&gt;</c>: the top-k classes of one image as a table, or of every image
/// under a folder as CSV (to <c>--out</c> or standard output), scored in batches through <c>Transform</c>.
/// </summary>
internal static class PredictCommand
{
    public static Command Create(CliContext cli)
    {
        var modelFile = new Argument<FileInfo>("model") { Description = "Model file written by 'lwml train' or 'lwml sweep'" };
        var input = new Argument<string>("input") { Description = "An image file, or a folder scored recursively" };
        var top = new Option<int>("--top", "-k") { Description = "Classes to show per image", DefaultValueFactory = _ => 3 };
        var output = new Option<FileInfo?>("--out", "-o") { Description = "CSV file for folder predictions (default: standard output)" };
        var command = new Command("predict", "Classify an image, or every image in a folder (CSV)") { modelFile, input, top, output };
        command.SetAction(parse =>
        {
            int k = parse.GetValue(top);
            if (k < 1) throw new UsageException("--top: must be at least 1.");
            string path = Path.GetFullPath(parse.GetValue(input)!);
            bool folder = Directory.Exists(path);
            if (!folder && !File.Exists(path)) throw new UsageException($"input '{path}' is neither an image file nor a folder.");
            var ml = new MLContext(seed: 1);
            var (pipeline, classifier) = CliShared.LoadModel(ml, parse.GetValue(modelFile)!);
            using var _ = classifier;
            var files = folder ? ListImages(path) : [path];
            if (files.Count == 0)
                throw new InvalidDataException($"folder '{path}' holds no image files ({string.Join(", ", ImageFolder.DefaultExtensions)}).");
            var scored = pipeline.Transform(ml.Data.LoadFromEnumerable(files.Select(f => new CliShared.PathRow { ImagePath = f })));
            k = Math.Min(k, classifier.ClassNames.Count);
            var rows = Top(scored, classifier.ClassNames, k);

            if (!folder)
            {
                var table = new Table().Title(Markup.Escape(Path.GetFileName(path))).AddColumns("rank", "class", "probability");
                foreach (var (cls, p, rank) in rows[0].Select((x, i) => (x.Class, x.Probability, i + 1)))
                    table.AddRow(rank.ToString(CultureInfo.InvariantCulture), Markup.Escape(cls), p.ToString("P2", CultureInfo.InvariantCulture));
                cli.Console.Write(table);
                return ExitCodes.Ok;
            }
            var csv = new StringBuilder("path");
            for (int i = 1; i <= k; i++) csv.Append(CultureInfo.InvariantCulture, $",class_{i},probability_{i}");
            csv.Append('\n');
            for (int r = 0; r < files.Count; r++)
            {
                csv.Append(Csv(Path.GetRelativePath(path, files[r])));
                foreach (var (cls, p) in rows[r]) csv.Append(',').Append(Csv(cls)).Append(',').Append(p.ToString("G6", CultureInfo.InvariantCulture));
                csv.Append('\n');
            }
            if (parse.GetValue(output) is { } outFile)
            {
                WriteAtomically(outFile.FullName, csv.ToString());
                cli.Output.WriteLine($"Wrote {files.Count} predictions to {outFile.FullName}");
            }
            else
            {
                cli.Output.Write(csv.ToString());
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Every image file under <paramref name="folder"/>, sorted, hidden entries skipped.</summary>
    private static List<string> ListImages(string folder)
    {
        var extensions = new HashSet<string>(ImageFolder.DefaultExtensions, StringComparer.OrdinalIgnoreCase);
        return Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => extensions.Contains(Path.GetExtension(f)))
            .Where(f => !Path.GetRelativePath(folder, f).Split(Path.DirectorySeparatorChar).Any(part => part.StartsWith('.')))
            .Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The <paramref name="k"/> most probable classes of each row, read in one pass over the scored view.</summary>
    private static List<(string Class, float Probability)[]> Top(IDataView scored, IReadOnlyList<string> classes, int k)
    {
        var result = new List<(string, float)[]>();
        var column = scored.Schema["Score"];
        using var cursor = scored.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> score = default;
        while (cursor.MoveNext())
        {
            getter(ref score);
            result.Add(score.DenseValues().Select((p, c) => (classes[c], p)).OrderByDescending(x => x.p).Take(k).ToArray());
        }
        return result;
    }

    private static string Csv(string text) => text.IndexOfAny([',', '"', '\n', '\r']) < 0 ? text : "\"" + text.Replace("\"", "\"\"") + "\"";

    private static void WriteAtomically(string path, string text)
    {
        var directory = Path.GetDirectoryName(path)!;
        if (!Directory.Exists(directory)) throw new UsageException($"--out: folder '{directory}' does not exist.");
        Export.AtomicFile.Write(path, stream => stream.Write(new UTF8Encoding(false).GetBytes(text)));
    }
}
