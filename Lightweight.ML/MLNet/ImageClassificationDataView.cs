using Lightweight.ML.Data;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lightweight.ML.MLNet;

/// <summary>
/// The output of <see cref="ImageClassificationTransformer.Transform"/>: the input's columns plus Score and PredictedLabel.
/// Its cursor runs two input cursors in lockstep: a lead cursor that reads <c>BatchSize</c> images ahead and scores them
/// in one forward, and a lagging cursor that serves the pass-through columns of the current row.
/// </summary>
internal sealed class ImageClassificationDataView : IDataView
{
    private readonly ImageClassificationTransformer _parent;
    private readonly IDataView _input;

    public ImageClassificationDataView(ImageClassificationTransformer parent, IDataView input)
    {
        _parent = parent;
        _input = input;
        Schema = parent.GetOutputSchema(input.Schema);
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => false;

    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        => new Cursor(this, columnsNeeded);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        => [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly ImageClassificationDataView _view;
        private readonly DataViewRowCursor _lag;
        private readonly DataViewRowCursor? _lead;
        private readonly ImageRowReader? _reader;
        private readonly ImageBatchBuilder? _builder;
        private readonly bool[] _active;
        private readonly int _classes;
        private float[] _probabilities = [];
        private int _inBatch, _batchRows;
        private long _position = -1;

        public Cursor(ImageClassificationDataView view, IEnumerable<DataViewSchema.Column> columnsNeeded)
        {
            _view = view;
            var inputSchema = view._input.Schema;
            _active = new bool[view.Schema.Count];
            foreach (var c in columnsNeeded) _active[c.Index] = true;
            _classes = view._parent.Outputs.Count;
            _lag = view._input.GetRowCursor(Enumerable.Range(0, inputSchema.Count).Where(i => _active[i]).Select(i => inputSchema[i]));
            if (_active.Skip(inputSchema.Count).Any(a => a))
            {
                _lead = view._input.GetRowCursor(view._parent.RequiredInputColumns(inputSchema));
                _reader = view._parent.CreateImageReader(_lead);
                _builder = new ImageBatchBuilder(view._parent.Preprocessing, view._parent.BatchSize);
            }
        }

        public override DataViewSchema Schema => _view.Schema;
        public override long Position => _position;
        public override long Batch => _lag.Batch;
        public override ValueGetter<DataViewRowId> GetIdGetter() => _lag.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            => _view._parent.Outputs.GetGetter<TValue>(_lag, _active, column, () => _probabilities.AsMemory(_inBatch * _classes, _classes));

        public override bool MoveNext()
        {
            if (!_lag.MoveNext()) return false;
            _position++;
            if (_lead is not null && ++_inBatch >= _batchRows) ScoreNextBatch();
            return true;
        }

        private void ScoreNextBatch()
        {
            int rows = 0, batchSize = _view._parent.BatchSize;
            while (rows < batchSize && _lead!.MoveNext())
            {
                _reader!.AddTo(_builder!);
                rows++;
            }
            if (rows == 0)
                throw new InvalidOperationException("The input data view returned fewer rows to a second cursor than to the first; " +
                                                    "Transform needs an input that yields the same rows to every cursor.");
            using var pixels = _builder!.Build();
            if (_probabilities.Length < rows * _classes) _probabilities = new float[batchSize * _classes];
            _view._parent.Score(pixels, _probabilities.AsSpan(0, rows * _classes));
            (_inBatch, _batchRows) = (0, rows);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _lag.Dispose();
                _lead?.Dispose();
                _builder?.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
