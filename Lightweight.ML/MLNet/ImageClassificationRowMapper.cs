using Lightweight.ML.Data;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lightweight.ML.MLNet;

/// <summary>
/// Row-at-a-time scoring for PredictionEngine: the Score and PredictedLabel of a row are computed once per input
/// position, on first use, with a forward of one image.
/// </summary>
internal sealed class ImageClassificationRowMapper : IRowToRowMapper
{
    private readonly ImageClassificationTransformer _parent;

    public ImageClassificationRowMapper(ImageClassificationTransformer parent, DataViewSchema inputSchema)
    {
        _parent = parent;
        InputSchema = inputSchema;
        OutputSchema = parent.GetOutputSchema(inputSchema);
    }

    public DataViewSchema InputSchema { get; }

    public DataViewSchema OutputSchema { get; }

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        var needed = new HashSet<int>();
        foreach (var column in dependingColumns)
        {
            if (column.Index < InputSchema.Count) needed.Add(column.Index);
            else foreach (var input in _parent.RequiredInputColumns(InputSchema)) needed.Add(input.Index);
        }
        return needed.Order().Select(i => InputSchema[i]).ToArray();
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
        => new Row(this, input, activeColumns);

    private sealed class Row : DataViewRow
    {
        private readonly ImageClassificationRowMapper _mapper;
        private readonly DataViewRow _input;
        private readonly bool[] _active;
        private readonly ImageRowReader? _reader;
        private readonly ImageBatchBuilder? _builder;
        private readonly float[] _probabilities;
        private long _scoredPosition = -1;

        public Row(ImageClassificationRowMapper mapper, DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
        {
            _mapper = mapper;
            _input = input;
            _active = new bool[mapper.OutputSchema.Count];
            foreach (var c in activeColumns) _active[c.Index] = true;
            _probabilities = new float[mapper._parent.Outputs.Count];
            if (_active.Skip(mapper.InputSchema.Count).Any(a => a))
            {
                _reader = mapper._parent.CreateImageReader(input);
                _builder = new ImageBatchBuilder(mapper._parent.Preprocessing, maxRunLength: 1);
            }
        }

        public override DataViewSchema Schema => _mapper.OutputSchema;
        public override long Position => _input.Position;
        public override long Batch => _input.Batch;
        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            => _mapper._parent.Outputs.GetGetter<TValue>(_input, _active, column, Current);

        private ReadOnlyMemory<float> Current()
        {
            if (_scoredPosition != _input.Position)
            {
                _reader!.AddTo(_builder!);
                using var pixels = _builder!.Build();
                _mapper._parent.Score(pixels, _probabilities);
                _scoredPosition = _input.Position;
            }
            return _probabilities;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _builder?.Dispose();
            base.Dispose(disposing);
        }
    }
}
