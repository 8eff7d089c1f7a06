namespace Unjucks.Agents.Processes;

/// <summary>A live snapshot of a running job, for a dashboard (<see cref="JobCoordinator.RunAsync(int, IProgress{JobProgress}?, CancellationToken)"/>).</summary>
/// <param name="JobSequence">The session's job number.</param>
/// <param name="Done">Tasks Done (committed) so far.</param>
/// <param name="Total">Tasks in the job.</param>
/// <param name="Unplaced">Tasks the coordinator has not placed yet (or is re-placing).</param>
/// <param name="Elapsed">Time since the job was published.</param>
/// <param name="Agents">One entry per agent.</param>
internal sealed record JobProgress(long JobSequence, int Done, int Total, int Unplaced, TimeSpan Elapsed, IReadOnlyList<AgentProgress> Agents);

/// <summary>One agent in a <see cref="JobProgress"/>.</summary>
/// <param name="Index">Agent index in the session.</param>
/// <param name="RegistrySlot">Its slot in the region's agent registry.</param>
/// <param name="Pid">Its process id.</param>
/// <param name="Alive">Registry liveness (flock-backed) at the last probe.</param>
/// <param name="Active">Whether it may take work (adaptive agent count).</param>
/// <param name="State">What it says it is doing.</param>
/// <param name="TasksDone">Its successful commits in this job (published every few ms).</param>
/// <param name="Steals">Its successful batch steals in this job.</param>
/// <param name="DequeDepth">Ids in its deque.</param>
/// <param name="InboxDepth">Ids in its inbox.</param>
internal sealed record AgentProgress(int Index, int RegistrySlot, int Pid, bool Alive, bool Active, AgentRunState State, long TasksDone, long Steals, int DequeDepth, int InboxDepth);
