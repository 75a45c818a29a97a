using Lightweight.ML.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lightweight.ML.Tests.MLNet;

/// <summary>The one place that reflects into ML.NET: if an ML.NET upgrade moves these members, these tests fail first.</summary>
[TestClass]
public sealed class MLNetInternalsTests
{
    [TestMethod]
    public void FindsTheEnvironmentBehindCatalogs()
    {
        var ml = new MLContext(seed: 5);
        var fromTrainers = MLNetInternals.GetEnvironment(ml.MulticlassClassification.Trainers);
        var fromData = MLNetInternals.GetEnvironment(ml.Data);
        Assert.AreSame(fromTrainers, fromData);
        // The environment is seeded by the MLContext: two contexts with the same seed give the same host seeds.
        var other = MLNetInternals.GetEnvironment(new MLContext(seed: 5).Data);
        Assert.AreEqual(fromData.Register("a").Rand.Next(), other.Register("a").Rand.Next());
        Assert.ThrowsExactly<NotSupportedException>(() => MLNetInternals.GetEnvironment(new object()));
    }

    [TestMethod]
    public void CreatesSchemaShapeColumns()
    {
        var column = MLNetInternals.CreateColumn("Score", SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false);
        Assert.AreEqual("Score", column.Name);
        Assert.AreEqual(SchemaShape.Column.VectorKind.Vector, column.Kind);
        Assert.AreEqual(NumberDataViewType.Single, column.ItemType);
        Assert.IsFalse(column.IsKey);
        var key = MLNetInternals.CreateColumn("PredictedLabel", SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, true,
            new SchemaShape([column]));
        Assert.IsTrue(key.IsKey);
        Assert.AreEqual("Score", key.Annotations.Single().Name);
    }
}
