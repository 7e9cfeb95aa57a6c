using FsHealer.Devices;

namespace FsHealer.Core.Tests.Devices;

/// <summary>Random sysfs graphs (in memory): resolution always ends, stays within its node budget and never throws.</summary>
public sealed class TopologyFuzzTests
{
    private sealed class MemSysfs : ISysfsView
    {
        public readonly Dictionary<string, string> Files = [];
        public readonly Dictionary<string, List<string>> Dirs = [];
        public readonly Dictionary<string, string> Links = [];
        public string? Read(string path) => Files.GetValueOrDefault(path);
        public IReadOnlyList<string> List(string path) => Dirs.GetValueOrDefault(path) ?? [];
        public string? Canonical(string path) => Links.TryGetValue(path, out var t) ? t : Files.ContainsKey(path + "/dev") ? path : null;
        public string? DeviceOfFile(string hostPath) => Files.GetValueOrDefault("host:" + hostPath);
    }

    [Fact]
    public void RandomGraphs_TerminateWithinBudget()
    {
        var rng = new Random(4242);
        string[] garbage = ["", "x", "0x", "8:", "\u0000", "1:2:3", "999999999999:1", "loop", "/etc/passwd (deleted)", "0x1f", "running"];
        for (int iter = 0; iter < 2000; iter++)
        {
            var v = new MemSysfs();
            int n = rng.Next(1, 40);
            string P(int i) => $"devices/x/d{i}";
            for (int i = 0; i < n; i++)
            {
                string p = P(i);
                v.Files[$"{p}/dev"] = rng.Next(8) == 0 ? garbage[rng.Next(garbage.Length)] : $"{i % 5 + 7}:{i}";
                v.Links[$"dev/block/{i % 5 + 7}:{i}"] = p;
                if (rng.Next(4) == 0) v.Files[$"{p}/partition"] = "1";
                if (rng.Next(4) == 0) v.Files[$"{p}/loop/backing_file"] = rng.Next(3) == 0 ? garbage[rng.Next(garbage.Length)] : $"/img{i}";
                if (rng.Next(3) == 0) v.Files[$"host:/img{i}"] = $"{rng.Next(5) + 7}:{rng.Next(n)}";
                if (rng.Next(5) == 0) v.Files[$"{p}/uevent"] = garbage[rng.Next(garbage.Length)] + "\nDEVTYPE=partition";
                var slaves = new List<string>();
                for (int k = rng.Next(0, 6); k > 0; k--)
                {
                    string name = $"s{k}";
                    slaves.Add(name);
                    if (rng.Next(6) != 0) v.Links[$"{p}/slaves/{name}"] = P(rng.Next(n));
                }
                v.Dirs[$"{p}/slaves"] = slaves;
                foreach (var f in BlockFacts.Health)
                    if (rng.Next(3) == 0) v.Files[$"{p}/{f.File}"] = garbage[rng.Next(garbage.Length)];
            }
            var notes = new List<string>();
            var root = TopologyResolver.ResolveDev(v, $"{rng.Next(5) + 7}:{rng.Next(n)}", notes);
            if (root is null) continue;
            var all = root.All().ToList();
            Assert.True(all.Count <= TopologyResolver.MaxNodes, $"{all.Count} nodes");
            Assert.NotNull(root.Describe());
            foreach (var node in all) DeviceHealth.Sample(v, node);
        }
    }

    [Fact]
    public void Diamond_IsBoundedByTheNodeBudget()
    {
        // 20 levels, each device with 4 members that all point at the same 4 devices of the level below: 4^20 paths
        var v = new MemSysfs();
        for (int level = 0; level < 20; level++)
            for (int j = 0; j < 4; j++)
            {
                string p = $"devices/l{level}/d{j}";
                v.Files[$"{p}/dev"] = $"{level + 1}:{j}";
                v.Files[$"{p}/dm/name"] = "x";
                v.Links[$"dev/block/{level + 1}:{j}"] = p;
                if (level < 19)
                {
                    v.Dirs[$"{p}/slaves"] = ["a", "b", "c", "d"];
                    for (int k = 0; k < 4; k++) v.Links[$"{p}/slaves/{"abcd"[k]}"] = $"devices/l{level + 1}/d{k}";
                }
            }
        var notes = new List<string>();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var root = TopologyResolver.ResolveDev(v, "1:0", notes);
        Assert.NotNull(root);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), sw.Elapsed.ToString());
        // each distinct device once, down to the depth limit; later mentions are references
        Assert.Equal(1 + 4 * TopologyResolver.MaxDepth, root.All().Count());
        Assert.Contains(root.All(), x => x.Note == "depth limit");
        Assert.True(root.Describe().Length < 20_000, root.Describe().Length.ToString());
    }

    [Fact]
    public void WideStack_StopsAtTheNodeBudget()
    {
        var v = new MemSysfs();
        v.Files["devices/top/dev"] = "9:0";
        v.Files["devices/top/md/level"] = "raid0";
        v.Links["dev/block/9:0"] = "devices/top";
        v.Dirs["devices/top/slaves"] = [.. Enumerable.Range(0, 64).Select(i => $"m{i}")];
        for (int i = 0; i < 64; i++)
        {
            string m = $"devices/m{i}";
            v.Links[$"devices/top/slaves/m{i}"] = m;
            v.Files[$"{m}/dev"] = $"253:{i}";
            v.Files[$"{m}/dm/name"] = $"m{i}";
            v.Dirs[$"{m}/slaves"] = [.. Enumerable.Range(0, 10).Select(j => $"d{j}")];
            for (int j = 0; j < 10; j++)
            {
                v.Links[$"{m}/slaves/d{j}"] = $"devices/d{i}-{j}";
                v.Files[$"devices/d{i}-{j}/dev"] = $"8:{i * 10 + j}";
            }
        }
        var notes = new List<string>();
        var root = TopologyResolver.ResolveDev(v, "9:0", notes);
        Assert.NotNull(root);
        Assert.Equal(TopologyResolver.MaxNodes, root.All().Count());
        Assert.Equal($"more than {TopologyResolver.MaxNodes} devices in the stack; the rest is not shown", Assert.Single(notes));
    }
}
