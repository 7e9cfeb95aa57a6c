namespace FsHealer.Scenario.Tests; public class Placeholder { [Fact] public void Builds() => Assert.True(typeof(FsHealer.Core.Engine.XfsHealerEngine) != null); }
