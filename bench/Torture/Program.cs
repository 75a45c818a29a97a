// Reliability torture (not a test): `kill` SIGKILLs a training process at random moments and resumes it, checking every
// checkpoint and the final weights against an uninterrupted run; `concurrency` hammers one model from many threads
// through a PredictionEnginePool and compares with serial predictions while sampling the process's memory.
// Both print a summary table and exit 0 when every check holds, 1 otherwise.
using System.CommandLine;
using Lightweight.ML.Torture;

var dataOption = new Option<DirectoryInfo?>("--data")
{
    Description = "Image folder (one subfolder per class); default: a subset of examples/data/fashion-mnist-small/train",
};
var seed = new Option<int>("--seed") { Description = "Seed of the kill moments and of training", DefaultValueFactory = _ => 1 };
var work = new Option<DirectoryInfo?>("--work") { Description = "Working folder (default: a new temporary folder, deleted on success)" };

var kills = new Option<int>("--kills") { Description = "Number of SIGKILLs", DefaultValueFactory = _ => 20 };
var epochs = new Option<int>("--epochs")
{
    Description = "Epochs of the training run (enough that it outlasts the kills: each process gets about one epoch done)", DefaultValueFactory = _ => 40,
};
var perClass = new Option<int>("--images-per-class") { Description = "Training images per class (3 classes)", DefaultValueFactory = _ => 24 };
var model = new Option<string>("--model") { Description = "Model to train (dropout makes resume restore the global RNG)", DefaultValueFactory = _ => "ghostnet-0.5" };
var kill = new Command("kill", "Kill a training process with SIGKILL at random moments, resume it each time, and check checkpoints and final weights")
{
    dataOption, seed, work, kills, epochs, perClass, model,
};
kill.SetAction(parse => new KillTorture(new KillSettings(
    parse.GetValue(dataOption), parse.GetValue(work), parse.GetValue(seed), parse.GetValue(kills), parse.GetValue(epochs),
    parse.GetValue(perClass), parse.GetValue(model)!)).Run());

var threads = new Option<int>("--threads") { Description = "Scoring threads", DefaultValueFactory = _ => 16 };
var perThread = new Option<int>("--predictions-per-thread") { Description = "Predictions per thread", DefaultValueFactory = _ => 10_000 };
var maxGrowth = new Option<int>("--max-growth-mb")
{
    Description = "Largest allowed working-set growth between 10 % of the predictions and the end", DefaultValueFactory = _ => 200,
};
var concurrency = new Command("concurrency", "Score one model from many threads through a PredictionEnginePool; compare with serial results; sample RSS")
{
    dataOption, seed, threads, perThread, maxGrowth,
};
concurrency.SetAction(parse => new ConcurrencyTorture(parse.GetValue(dataOption), parse.GetValue(seed), parse.GetValue(threads),
    parse.GetValue(perThread), parse.GetValue(maxGrowth)).Run());

// The training process that `kill` starts (and kills).
var childData = new Option<DirectoryInfo>("--data") { Required = true };
var childOut = new Option<DirectoryInfo>("--out") { Required = true };
var child = new Command("train-child", "Internal: the training process of the kill torture") { childData, childOut, seed, epochs, model };
child.Hidden = true;
child.SetAction(parse => TrainChild.Run(parse.GetValue(childData)!, parse.GetValue(childOut)!, parse.GetValue(seed), parse.GetValue(epochs),
    parse.GetValue(model)!));

var root = new RootCommand("Lightweight.ML reliability torture: kill/resume and concurrent scoring") { kill, concurrency, child };
return root.Parse(args).Invoke();
