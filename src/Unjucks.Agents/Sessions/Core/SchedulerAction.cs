namespace Unjucks.Agents.Sessions.Core;

/// <summary>What the scheduler core asks its transport to do.</summary>
internal enum SchedulerActionKind
{
    /// <summary>First placement of <see cref="SchedulerAction.Task"/>: write its input into <see cref="SchedulerAction.Slot"/>,
    /// then put it on <see cref="SchedulerAction.Agent"/>'s inbox and wake that agent.</summary>
    Place,

    /// <summary>Move an already placed task (same slot) to <see cref="SchedulerAction.Agent"/>, with a new
    /// <see cref="SchedulerAction.Attempt"/>; the slot may meanwhile be leased by another agent or done (then the
    /// transport reports what it found, see <see cref="SchedulerCore.TaskStarted"/>).</summary>
    Requeue,

    /// <summary>Wake <see cref="SchedulerAction.Agent"/> (it is idle while others hold unstarted work it may steal).</summary>
    Wake,

    /// <summary>End <see cref="SchedulerAction.Agent"/>'s process (SIGKILL); its death is reported later through
    /// <see cref="SchedulerCore.AgentDied"/>. <see cref="SchedulerAction.ExceptionType"/> names the reason
    /// ("LeaseTimeout" or "StartTimeout").</summary>
    KillAgent,

    /// <summary><see cref="SchedulerAction.Agent"/> is beyond the active agent count: it must take no new work (not
    /// from its inbox, not by stealing) until <see cref="Activate"/>; what it runs now it finishes.</summary>
    Standby,

    /// <summary><see cref="SchedulerAction.Agent"/> takes work again: clear its standby mark and wake it.</summary>
    Activate,

    /// <summary>Start a (new) process for agent slot <see cref="SchedulerAction.Agent"/>.</summary>
    StartAgent,

    /// <summary>The task ended failed: complete its handle with <see cref="SchedulerAction.ExceptionType"/>,
    /// <see cref="SchedulerAction.Message"/> and <see cref="SchedulerAction.Attempt"/> (the attempts made), and free
    /// <see cref="SchedulerAction.Slot"/> (-1 when it was never placed).</summary>
    FailTask,

    /// <summary>An alert for the user: <see cref="SchedulerAction.ExceptionType"/> is its kind ("AgentStalled",
    /// "AgentResumed", "AgentRestartBudgetExhausted", "NoAgentsLeft"), <see cref="SchedulerAction.Message"/> its text.</summary>
    Alert,
}

/// <summary>One output of the scheduler core. Fields that do not apply to a kind are -1 or null.</summary>
internal readonly record struct SchedulerAction(
    SchedulerActionKind Kind,
    long Task,
    int Agent,
    int Slot,
    int Attempt,
    string? ExceptionType = null,
    string? Message = null);
