// Random histories of a whole simulated session (SimulatedSession: transport, agents, shared table, manual clock)
// around SchedulerCore; each history checks every invariant as it goes and that nothing is lost at its end.
namespace Unjucks.Agents.Tests.Sessions.Core;

public class SchedulerCoreRandomHistoryTests
{
    private const int Groups = 20;
    private const int HistoriesPerGroup = 5_000; // 100,000 histories in all

    [Test]
    public void RandomHistories_EveryTaskEndsOnce_NothingIsLost_AndNoInvariantBreaks([Range(0, Groups - 1)] int group)
    {
        var counts = new SimulatedSession.HistoryCounts();
        for (int seed = group * HistoriesPerGroup; seed < (group + 1) * HistoriesPerGroup; seed++)
        {
            SimulatedSession.Run(seed, counts); // throws with the seed and a trace of the history's last events
        }

        TestContext.Out.WriteLine(counts);
    }

    [Test]
    public void TheSameHistoryProducesTheSameActions()
    {
        for (int seed = 0; seed < 300; seed++)
        {
            int first = SimulatedSession.Run(seed);
            int second = SimulatedSession.Run(seed);
            Assert.That(second, Is.EqualTo(first), $"seed {seed}");
        }
    }
}
