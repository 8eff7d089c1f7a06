// A deterministic simulation of an agent session around a SchedulerCore: it plays the transport and the agents.
//
// The transport keeps a shared table (slot -> task, state Free / Queued(agent) / Leased(agent) / Done / Failed /
// Recovered) and carries the core's actions out: Place writes a Free slot and fills the agent's inbox; Requeue on a
// slot Leased by a live agent reports TaskStarted(holder), on a Done slot does nothing, otherwise re-queues it;
// KillAgent ends the process a little later; StartAgent starts one that registers after a random delay (or never);
// FailTask frees the slot. A process that dies has its Leased slots Recovered and reported as heldTasks.
// Agents (chosen by a seeded Random) lease their inbox or steal any Queued slot, report the lease at once or later,
// commit (the transport collects Done slots later), throw, die (poison tasks kill every agent that runs them),
// freeze (no heartbeats, no work) and thaw, or hang on a task (only when a lease time-out can rescue it). The clock is
// manual. Late and duplicate events are injected and must produce nothing. After a chaotic phase a calm phase lets
// everything finish; then every task must have ended exactly once and none may be lost.
//
// Every invariant is checked as the actions arrive; a violation throws with the seed (and, when the history is
// replayed with tracing, its last events).
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Unjucks.Agents.Sessions.Core;

namespace Unjucks.Agents.Tests.Sessions.Core;

internal sealed class SimulatedSession
{
    private const long FirstId = 1_000;
    private readonly int _seed;
    private readonly Random _rng;
    private readonly SchedulerCoreOptions _options;
    private readonly ManualTimeProvider _clock = new();
    private readonly SchedulerCore _core;
    private readonly SimTask[] _tasks;
    private readonly SimAgent[] _agents;
    private readonly SlotEntry[] _slots;
    private readonly long[] _slotOwner;
    private readonly List<SchedulerAction> _actions = new();
    private readonly List<SchedulerAction> _batch = new();
    private readonly Queue<(long Task, int Agent)> _reportedByRequeue = new();
    private readonly List<(int Agent, int Incarnation)> _kills = new();
    private readonly List<(long Task, int Agent, int Incarnation, int Slot)> _unreportedStarts = new();
    private readonly List<(long Task, int Slot)> _commitsInFlight = new();
    private readonly List<long> _pending = new();
    private readonly List<long> _held = new();
    private readonly List<string>? _trace;
    private readonly Dictionary<string, int> _kinds = new();
    private readonly Random _activeRng;
    private bool _calm;
    private bool _noAgentsLeft;
    private int _submitted;
    private int _step;
    private int _hash = 17;

    private enum SlotState { Free, Queued, Leased, Done, Failed, Recovered }

    private enum Behavior { Commit, Throw, Poison, Hang, HangOnce }

    private SimulatedSession(int seed, bool trace)
    {
        _seed = seed;
        _rng = new Random(seed);
        _trace = trace ? new List<string>() : null;
        bool lease = _rng.Next(10) < 6;
        _options = new SchedulerCoreOptions
        {
            Agents = _rng.Next(1, 5),
            Slots = _rng.Next(1, 9),
            MaxAttempts = _rng.Next(1, 5),
            RestartDeadAgents = _rng.Next(10) != 0,
            MaxRestartsPerMinute = _rng.Next(1, 7),
            RestartBackoff = TimeSpan.FromMilliseconds(50),
            RestartBackoffMax = TimeSpan.FromMilliseconds(_rng.Next(100, 2000)),
            LeaseTimeout = lease ? TimeSpan.FromMilliseconds(_rng.Next(800, 4000)) : null,
            StallTimeout = TimeSpan.FromMilliseconds(_rng.Next(1000, 3000)),
            StartTimeout = TimeSpan.FromMilliseconds(_rng.Next(3000, 8000)),
        };
        // Memory from a second stream, so that the histories of the other choices stay those they were.
        var memoryRng = new Random(seed ^ 0x5bd1e995);
        long budget = memoryRng.Next(3) == 0 ? 0 : memoryRng.Next(100, 400);
        _options = _options with { MemoryBudgetBytes = budget };
        // The active agent count from a third stream, for the same reason.
        _activeRng = new Random(seed ^ 0x27d4eb2d);
        _options = _options with { ActiveAgents = _activeRng.Next(3) == 0 ? null : _activeRng.Next(1, _options.Agents + 1) };
        _core = new SchedulerCore(_options, _clock);
        _agents = new SimAgent[_options.Agents];
        for (int i = 0; i < _agents.Length; i++)
        {
            _agents[i] = new SimAgent();
        }

        _slots = new SlotEntry[_options.Slots];
        _slotOwner = new long[_options.Slots];
        Array.Fill(_slotOwner, -1);
        _tasks = new SimTask[_rng.Next(5, 41)];
        for (int i = 0; i < _tasks.Length; i++)
        {
            int r = _rng.Next(100);
            var behavior = r < 82 ? Behavior.Commit : r < 91 ? Behavior.Throw : r < 93 ? Behavior.Poison
                : !lease ? Behavior.Commit : r < 96 ? Behavior.Hang : Behavior.HangOnce;
            var deps = new long[i == 0 ? 0 : _rng.Next(0, Math.Min(i, 3) + 1)];
            for (int k = 0; k < deps.Length; k++)
            {
                deps[k] = FirstId + _rng.Next(0, i);
            }

            long memory = budget > 0 && memoryRng.Next(2) == 0 ? memoryRng.Next(1, (int)budget + 1) : 0;
            _tasks[i] = new SimTask { Id = FirstId + i, Deps = deps.Distinct().ToArray(), Behavior = behavior, Memory = memory };
        }
    }

    /// <summary>Plays the history of <paramref name="seed"/>; returns a hash of every action (for determinism checks).</summary>
    public static int Run(int seed, HistoryCounts? counts = null)
    {
        try
        {
            var session = new SimulatedSession(seed, trace: false);
            int hash = session.Play();
            counts?.Add(session);
            return hash;
        }
        catch (Exception first)
        {
            var replay = new SimulatedSession(seed, trace: true);
            try
            {
                replay.Play();
            }
            catch (Exception)
            {
                // the same failure, now with a trace
            }

            var last = replay._trace!.Skip(Math.Max(0, replay._trace!.Count - 80));
            throw new AssertionException($"seed {seed}: {first.Message}\n{replay._options}\nlast events:\n  {string.Join("\n  ", last)}", first);
        }
    }

    private int Play()
    {
        Begin($"Start");
        _core.Start(_actions);
        After();
        int steps = _tasks.Length * 12;
        for (_step = 0; _step < steps; _step++)
        {
            ChaosStep();
            if (_activeRng.Next(60) == 0)
            {
                int count = _activeRng.Next(1, _agents.Length + 1);
                Begin($"SetActiveAgents {count}");
                _core.SetActiveAgents(count, _actions);
                After();
            }

        }

        while (_submitted < _tasks.Length)
        {
            Submit();
        }

        _calm = true;
        foreach (var agent in _agents)
        {
            agent.Frozen = false;
        }

        for (int round = 0; round < 2000 && (_core.Unfinished > 0 || !AllEnded()); round++)
        {
            CalmRound();
        }

        CheckEnd();
        return _hash;
    }

    private void ChaosStep()
    {
        switch (_rng.Next(1000))
        {
            case < 200 when _submitted < _tasks.Length: Submit(); break;
            case < 560: AgentStep(_rng.Next(_agents.Length)); break;
            case < 680: CollectCommit(_rng.Next(Math.Max(1, _commitsInFlight.Count))); break;
            case < 730: ReportStarts(all: false); break;
            case < 870: Advance(); break;
            case < 900: ProcessKills(all: false); break;
            case < 906: Crash(_rng.Next(_agents.Length)); break;
            case < 926: Freeze(_rng.Next(_agents.Length)); break;
            case < 936: FailStart(_rng.Next(_agents.Length)); break;
            case < 966: LateEvent(); break;
            default: AgentStep(_rng.Next(_agents.Length)); break;
        }
    }

    private void CalmRound()
    {
        ProcessKills(all: true);
        ReportStarts(all: true);
        for (int a = 0; a < _agents.Length; a++)
        {
            var agent = _agents[a];
            while (agent.Alive && agent.Registered && !agent.Standby && agent.Inbox.Count > 0)
            {
                LeaseFromInbox(a);
            }

            for (int s = 0; s < _slots.Length && agent.Alive && agent.Registered && !agent.Standby; s++)
            {
                if (_slots[s].State == SlotState.Queued)
                {
                    Lease(a, s);
                }
            }

            for (int s = 0; s < _slots.Length && agent.Alive; s++)
            {
                if (_slots[s].State == SlotState.Leased && _slots[s].Agent == a && !_slots[s].Hung)
                {
                    Complete(s);
                }
            }
        }

        ReportStarts(all: true);
        while (_commitsInFlight.Count > 0)
        {
            CollectCommit(0);
        }

        Advance();
    }

    // ---- the submitter ----

    private void Submit()
    {
        var t = _tasks[_submitted++];
        _pending.Clear();
        long? failed = null;
        foreach (long dep in t.Deps)
        {
            var d = Task(dep);
            if (d.Fails > 0)
            {
                failed ??= dep;
            }
            else if (d.Commits == 0)
            {
                _pending.Add(dep);
            }
        }

        t.Submitted = true;
        Begin($"Submit {t.Id} deps [{string.Join(",", _pending)}] failed {failed}");
        _core.Submit(t.Id, CollectionsMarshal.AsSpan(_pending), failed, _actions, t.Memory);
        After();
    }

    // ---- the agents ----

    private void AgentStep(int a)
    {
        var agent = _agents[a];
        if (!agent.Alive || !agent.Registered || agent.Frozen)
        {
            return;
        }

        int r = _rng.Next(100);
        if (r < 55 && agent.Standby)
        {
            return; // takes no new work; finishes what it holds (below)
        }

        if (r < 40)
        {
            LeaseFromInbox(a);
        }
        else if (r < 55)
        {
            int queued = 0;
            for (int s = 0; s < _slots.Length; s++)
            {
                queued += _slots[s].State == SlotState.Queued ? 1 : 0;
            }

            for (int s = 0, pick = queued == 0 ? -1 : _rng.Next(queued); s < _slots.Length && pick >= 0; s++)
            {
                if (_slots[s].State == SlotState.Queued && pick-- == 0)
                {
                    Lease(a, s);
                }
            }
        }
        else
        {
            for (int s = 0; s < _slots.Length; s++)
            {
                if (_slots[s].State == SlotState.Leased && _slots[s].Agent == a && !_slots[s].Hung && _rng.Next(2) == 0)
                {
                    Complete(s);
                    return;
                }
            }
        }
    }

    private void LeaseFromInbox(int a)
    {
        var agent = _agents[a];
        while (agent.Inbox.Count > 0)
        {
            var (task, slot) = agent.Inbox[0];
            agent.Inbox.RemoveAt(0);
            if (_slots[slot].Task == task && _slots[slot].State == SlotState.Queued)
            {
                Lease(a, slot);
                return;
            }
        }
    }

    private void Lease(int a, int slot)
    {
        ref var s = ref _slots[slot];
        var t = Task(s.Task);
        Require(s.Attempt >= 1 && s.Attempt <= _options.MaxAttempts, $"task {t.Id} leased with attempt {s.Attempt}");
        s.State = SlotState.Leased;
        s.Agent = a;
        t.Runs++;
        s.Hung = t.Behavior == Behavior.Hang || (t.Behavior == Behavior.HangOnce && t.Runs == 1);
        Log($"agent {a} leases task {t.Id} slot {slot} attempt {s.Attempt}{(s.Hung ? " (hangs)" : "")}");
        if (_calm || _rng.Next(10) < 7)
        {
            Begin($"TaskStarted {t.Id} on {a}");
            _core.TaskStarted(t.Id, a, _actions);
            After();
        }
        else
        {
            _unreportedStarts.Add((t.Id, a, _agents[a].Incarnation, slot));
        }

        if (t.Behavior == Behavior.Poison)
        {
            Die(a, "poison task");
        }
    }

    private void Complete(int slot)
    {
        ref var s = ref _slots[slot];
        var t = Task(s.Task);
        if (t.Behavior == Behavior.Throw)
        {
            s.State = SlotState.Failed;
            Begin($"TaskFailed {t.Id} attempt {s.Attempt}");
            _core.TaskFailed(t.Id, "HandlerError", $"handler of task {t.Id} threw", _actions);
            After();
            return;
        }

        Require(!t.HandlerCommitted, $"task {t.Id} committed by its handler twice");
        s.State = SlotState.Done;
        s.Result = (t.Id * 31) + s.Attempt;
        t.HandlerCommitted = true;
        t.HandlerResult = s.Result;
        _commitsInFlight.Add((t.Id, slot));
        Log($"agent {s.Agent} commits task {t.Id} slot {slot}");
    }

    private void Freeze(int a)
    {
        if (_agents[a].Alive)
        {
            _agents[a].Frozen = !_agents[a].Frozen;
            Log($"agent {a} {(_agents[a].Frozen ? "freezes" : "thaws")}");
        }
    }

    private void Crash(int a)
    {
        if (_agents[a].Alive)
        {
            Die(a, "crash");
        }
    }

    private void FailStart(int a)
    {
        if (_agents[a].Alive && !_agents[a].Registered)
        {
            Die(a, "failed start");
        }
    }

    // ---- the transport ----

    private void Die(int a, string why)
    {
        var agent = _agents[a];
        agent.Alive = false;
        agent.Registered = false;
        agent.Frozen = false;
        agent.Incarnation++;
        agent.Inbox.Clear();
        _held.Clear();
        for (int s = 0; s < _slots.Length; s++)
        {
            if (_slots[s].State == SlotState.Leased && _slots[s].Agent == a)
            {
                _slots[s].State = SlotState.Recovered;
                _slots[s].Hung = false;
                _held.Add(_slots[s].Task);
            }
        }

        Begin($"AgentDied {a} ({why}) held [{string.Join(",", _held)}]");
        _core.AgentDied(a, CollectionsMarshal.AsSpan(_held), _actions);
        After();
    }

    private void ProcessKills(bool all)
    {
        for (int i = 0; i < _kills.Count; i++)
        {
            var (a, incarnation) = _kills[i];
            if (all || _rng.Next(2) == 0)
            {
                _kills.RemoveAt(i--);
                if (_agents[a].Alive && _agents[a].Incarnation == incarnation)
                {
                    Die(a, "killed");
                }
            }
        }
    }

    private void ReportStarts(bool all)
    {
        for (int i = 0; i < _unreportedStarts.Count; i++)
        {
            var (task, a, incarnation, slot) = _unreportedStarts[i];
            if (all || _rng.Next(2) == 0)
            {
                _unreportedStarts.RemoveAt(i--);
                bool current = _agents[a].Alive && _agents[a].Incarnation == incarnation;
                if (current && _slots[slot].Task == task && _slots[slot].State is SlotState.Leased or SlotState.Done or SlotState.Failed)
                {
                    Begin($"TaskStarted {task} on {a} (late report)");
                    _core.TaskStarted(task, a, _actions);
                    After();
                }
            }
        }
    }

    private void CollectCommit(int index)
    {
        if (index >= _commitsInFlight.Count)
        {
            return;
        }

        var (task, slot) = _commitsInFlight[index];
        _commitsInFlight.RemoveAt(index);
        if (_slots[slot].Task != task || _slots[slot].State != SlotState.Done)
        {
            return; // the core failed it meanwhile (no agents left): the slot was freed
        }

        var t = Task(task);
        Require(!t.Ended, $"commit of ended task {task}");
        t.Commits++;
        t.CollectedResult = _slots[slot].Result;
        _slots[slot] = default;
        _slotOwner[slot] = -1;
        Begin($"TaskCommitted {task} slot {slot}");
        _core.TaskCommitted(task, _actions);
        After();
    }

    private void Advance()
    {
        int ms = _calm ? _rng.Next(100, 600) : _rng.Next(20) == 0 ? _rng.Next(500, 4000) : _rng.Next(1, 300);
        _clock.Advance(TimeSpan.FromMilliseconds(ms));
        Log($"+{ms} ms");
        long now = _clock.GetTimestamp();
        for (int a = 0; a < _agents.Length; a++)
        {
            var agent = _agents[a];
            if (agent.Alive && !agent.Registered && !agent.Frozen && now >= agent.RegisterAt)
            {
                agent.Registered = true;
                Begin($"AgentRegistered {a}");
                _core.AgentRegistered(a, _actions);
                After();
            }
            else if (agent.Alive && agent.Registered && !agent.Frozen && (_calm || _rng.Next(100) < 85))
            {
                Begin($"AgentHeartbeat {a}");
                _core.AgentHeartbeat(a, _actions);
                After();
            }
        }

        Begin($"Tick");
        _core.Tick(_actions);
        After();
    }

    private void LateEvent()
    {
        int r = _rng.Next(5);
        int a = _rng.Next(_agents.Length);
        if (r < 3)
        {
            var ended = _tasks[_rng.Next(_submitted == 0 ? 1 : _submitted)];
            if (!ended.Ended)
            {
                return;
            }

            long id = ended.Id;
            if (r == 0)
            {
                Begin($"late TaskCommitted {id}");
                _core.TaskCommitted(id, _actions);
                RequireQuiet();
            }
            else if (r == 1 && _agents[a].Alive)
            {
                Begin($"late TaskStarted {id} on {a}");
                _core.TaskStarted(id, a, _actions);
                RequireQuiet();
            }
            else if (r == 2)
            {
                Begin($"late TaskFailed {id}");
                _core.TaskFailed(id, "HandlerError", "late", _actions);
                RequireQuiet();
            }
        }
        else if (!_agents[a].Alive && _agents[a].Incarnation > 0)
        {
            if (r == 3)
            {
                Begin($"duplicate AgentDied {a}");
                _core.AgentDied(a, [], _actions);
                RequireQuiet();
            }
            else
            {
                Begin($"late AgentHeartbeat {a}");
                _core.AgentHeartbeat(a, _actions);
                RequireQuiet();
            }
        }
    }

    // ---- the core's actions ----

    private void Begin([InterpolatedStringHandlerArgument("")] ref TraceText what)
    {
        Log(ref what);
        _actions.Clear();
    }

    /// <summary>Carries out what the core call since <see cref="Begin"/> emitted, then the TaskStarted reports that
    /// Requeues of leased slots produced.</summary>
    private void After()
    {
        Apply();
        while (_reportedByRequeue.Count > 0)
        {
            var (task, holder) = _reportedByRequeue.Dequeue();
            Begin($"TaskStarted {task} on {holder} (a Requeue found it leased)");
            _core.TaskStarted(task, holder, _actions);
            Apply();
        }
    }

    /// <summary>A late or duplicate event must produce nothing.</summary>
    private void RequireQuiet() => Require(_actions.Count == 0, $"a late event produced {string.Join(", ", _actions)}");

    private void Apply()
    {
        _batch.Clear();
        _batch.AddRange(_actions);
        _actions.Clear();
        foreach (var action in _batch)
        {
            _hash = HashCode.Combine(_hash, action);
            string kind = action.Kind == SchedulerActionKind.Alert ? action.ExceptionType! : action.Kind == SchedulerActionKind.Requeue && action.Attempt > 1 ? "Requeue (next attempt)" : action.Kind.ToString();
            _kinds[kind] = _kinds.GetValueOrDefault(kind) + 1;
            Log($"  -> {action}");
            Handle(action);
        }
    }

    private void Handle(SchedulerAction x)
    {
        switch (x.Kind)
        {
            case SchedulerActionKind.Place: OnPlace(x); break;
            case SchedulerActionKind.Requeue: OnRequeue(x); break;
            case SchedulerActionKind.Wake: RequireLive(x.Agent, x); break;
            case SchedulerActionKind.KillAgent:
                RequireLive(x.Agent, x);
                _kills.Add((x.Agent, _agents[x.Agent].Incarnation));
                break;
            case SchedulerActionKind.StartAgent: OnStartAgent(x.Agent); break;
            case SchedulerActionKind.Standby:
                Require(!_agents[x.Agent].Standby, $"{x} for an agent already on standby");
                _agents[x.Agent].Standby = true;
                break;
            case SchedulerActionKind.Activate:
                Require(_agents[x.Agent].Standby, $"{x} for an agent not on standby");
                _agents[x.Agent].Standby = false;
                break;
            case SchedulerActionKind.FailTask: OnFailTask(x); break;
            case SchedulerActionKind.Alert:
                if (x.ExceptionType == SchedulerCore.NoAgentsLeftAlert)
                {
                    Require(!_noAgentsLeft, $"NoAgentsLeft twice");
                    _noAgentsLeft = true;
                }

                break;
            default: Require(false, $"unknown action {x}"); break;
        }
    }

    private void OnPlace(SchedulerAction x)
    {
        var t = Task(x.Task);
        Require(t.Submitted && !t.Ended && !t.Placed, $"Place of task {t.Id}: submitted {t.Submitted}, ended {t.Ended}, placed {t.Placed}");
        Require(x.Attempt == 1, $"Place of task {t.Id} with attempt {x.Attempt}");
        RequireLive(x.Agent, x);
        RequireActive(x.Agent, x);
        foreach (long dep in t.Deps)
        {
            Require(Task(dep).Commits == 1, $"task {t.Id} placed before its dependency {dep} committed");
        }

        Require(_slotOwner[x.Slot] == -1 && _slots[x.Slot].State == SlotState.Free,
            $"task {t.Id} placed on slot {x.Slot}, which task {_slotOwner[x.Slot]} holds ({_slots[x.Slot].State})");
        _slotOwner[x.Slot] = t.Id;
        _slots[x.Slot] = new SlotEntry { Task = t.Id, State = SlotState.Queued, Agent = x.Agent, Attempt = 1 };
        t.Placed = true;
        t.LastAttempt = 1;
        long placedMemory = _tasks.Where(p => p.Placed && !p.Ended).Sum(p => p.Memory);
        Require(_options.MemoryBudgetBytes == 0 || placedMemory <= _options.MemoryBudgetBytes,
            $"task {t.Id} placed with {placedMemory} bytes reserved by placed tasks, over the budget of {_options.MemoryBudgetBytes}");
        Require(_core.MemoryReserved <= _options.MemoryBudgetBytes, $"the core reserved {_core.MemoryReserved} of {_options.MemoryBudgetBytes}");
        _agents[x.Agent].Inbox.Add((t.Id, x.Slot));
    }

    private void OnRequeue(SchedulerAction x)
    {
        var t = Task(x.Task);
        Require(t.Placed && !t.Ended && _slotOwner[x.Slot] == t.Id, $"Requeue of task {t.Id} on slot {x.Slot} (owner {_slotOwner[x.Slot]}, ended {t.Ended})");
        Require(x.Attempt >= t.LastAttempt && x.Attempt <= _options.MaxAttempts, $"Requeue of task {t.Id} with attempt {x.Attempt} after {t.LastAttempt}");
        RequireLive(x.Agent, x);
        RequireActive(x.Agent, x);
        t.LastAttempt = x.Attempt;
        ref var s = ref _slots[x.Slot];
        switch (s.State)
        {
            case SlotState.Leased:
                _reportedByRequeue.Enqueue((t.Id, s.Agent));
                break;
            case SlotState.Done:
                break;
            case SlotState.Queued or SlotState.Recovered:
                s.State = SlotState.Queued;
                s.Agent = x.Agent;
                s.Attempt = x.Attempt;
                _agents[x.Agent].Inbox.Add((t.Id, x.Slot));
                break;
            default:
                Require(false, $"Requeue of task {t.Id} found slot {x.Slot} {s.State}");
                break;
        }
    }

    private void OnStartAgent(int a)
    {
        var agent = _agents[a];
        Require(!agent.Alive, $"StartAgent {a} while it is alive");
        agent.Alive = true;
        agent.Registered = false;
        agent.Frozen = false;
        agent.RegisterAt = !_calm && _rng.Next(100) < 4 ? long.MaxValue : _clock.GetTimestamp() + TimeSpan.FromMilliseconds(_rng.Next(0, 400)).Ticks;
    }

    private void OnFailTask(SchedulerAction x)
    {
        var t = Task(x.Task);
        Require(!t.Ended, $"task {t.Id} failed after it ended (commits {t.Commits}, fails {t.Fails})");
        Require(x.Attempt >= 0 && x.Attempt <= _options.MaxAttempts, $"task {t.Id} failed with attempt {x.Attempt}");
        if (x.Slot >= 0)
        {
            Require(_slotOwner[x.Slot] == t.Id, $"FailTask of task {t.Id} names slot {x.Slot} of task {_slotOwner[x.Slot]}");
            var state = _slots[x.Slot].State;
            Require(state != SlotState.Leased, $"task {t.Id} failed while leased by live agent {_slots[x.Slot].Agent}");
            Require(state != SlotState.Done || _noAgentsLeft, $"task {t.Id} failed while its commit was in flight");
            if (x.ExceptionType == "HandlerError")
            {
                Require(x.Attempt == _slots[x.Slot].Attempt, $"task {t.Id} failed with attempt {x.Attempt}, ran attempt {_slots[x.Slot].Attempt}");
            }

            _slots[x.Slot] = default;
            _slotOwner[x.Slot] = -1;
        }
        else
        {
            Require(!t.Placed, $"placed task {t.Id} failed without its slot");
        }

        t.Fails++;
        t.FailType = x.ExceptionType;
        t.FailedAfterNoAgentsLeft = _noAgentsLeft;
        switch (x.ExceptionType)
        {
            case SchedulerCore.DependencyFailed:
                Require(t.Deps.Any(d => Task(d).Fails > 0 && x.Message!.Contains($"task {d} ", StringComparison.Ordinal)),
                    $"task {t.Id} failed DependencyFailed ({x.Message}) but its dependencies [{string.Join(",", t.Deps)}] did not fail");
                break;
            case SchedulerCore.AgentDiedReason:
                Require(_noAgentsLeft || x.Attempt == _options.MaxAttempts, $"task {t.Id} failed AgentDied after {x.Attempt} attempt(s)");
                break;
            case SchedulerCore.LeaseTimeoutReason:
                Require(x.Attempt == _options.MaxAttempts, $"task {t.Id} failed LeaseTimeout after {x.Attempt} attempt(s)");
                break;
            case "HandlerError":
                Require(t.Behavior == Behavior.Throw, $"task {t.Id} ({t.Behavior}) failed HandlerError");
                break;
            default:
                Require(false, $"task {t.Id} failed {x.ExceptionType}");
                break;
        }
    }

    // ---- the end ----

    private bool AllEnded()
    {
        foreach (var t in _tasks)
        {
            if (!t.Ended)
            {
                return false;
            }
        }

        return true;
    }

    private void CheckEnd()
    {
        Require(_core.Unfinished == 0, $"{_core.Unfinished} task(s) still unfinished in the core after the calm phase");
        Require(_core.MemoryReserved == 0 && _core.TasksWaitingForMemory == 0 && _core.MemoryWaitingBytes == 0,
            $"memory still reserved ({_core.MemoryReserved}) or waited for ({_core.TasksWaitingForMemory} task(s), {_core.MemoryWaitingBytes} bytes) at the end");
        for (int a = 0; a < _agents.Length; a++)
        {
            Require(_core.Load(a) == 0, $"agent {a} keeps load {_core.Load(a)}");
        }

        for (int s = 0; s < _slots.Length; s++)
        {
            Require(_slotOwner[s] == -1 && _slots[s].State == SlotState.Free, $"slot {s} still {_slots[s].State} for task {_slotOwner[s]}");
        }

        foreach (var t in _tasks)
        {
            Require(t.Commits + t.Fails == 1, $"task {t.Id} ended {t.Commits} time(s) committed, {t.Fails} time(s) failed");
            if (t.Deps.Any(d => Task(d).Fails > 0))
            {
                Require(t.FailType == SchedulerCore.DependencyFailed || (t.FailType == SchedulerCore.AgentDiedReason && t.FailedAfterNoAgentsLeft),
                    $"task {t.Id} whose dependency failed ended {(t.Commits > 0 ? "committed" : t.FailType)}");
            }

            if (t.HandlerCommitted && !(t.FailType == SchedulerCore.AgentDiedReason && t.FailedAfterNoAgentsLeft))
            {
                Require(t.Commits == 1 && t.CollectedResult == t.HandlerResult, $"task {t.Id} committed by its handler but ended {t.FailType ?? "committed"} (result {t.CollectedResult})");
            }

            if (t.Commits == 1)
            {
                Require(t.HandlerCommitted && t.Behavior is Behavior.Commit or Behavior.HangOnce, $"task {t.Id} ({t.Behavior}) committed without its handler");
            }
        }
    }

    // ---- helpers ----

    private SimTask Task(long id) => _tasks[id - FirstId];

    private void RequireLive(int a, SchedulerAction action) =>
        Require(_agents[a].Alive && _core.IsAgentAlive(a), $"{action} targets agent {a}, which is not alive");

    private void RequireActive(int a, SchedulerAction action) =>
        Require(!_agents[a].Standby && !_core.IsAgentStandby(a), $"{action} targets agent {a}, which is on standby");

    private void Require(bool condition, [InterpolatedStringHandlerArgument("condition")] ref FailureText message)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"step {_step}{(_calm ? " (calm)" : "")}: {message.ToStringAndClear()}");
        }
    }

    private void Log([InterpolatedStringHandlerArgument("")] ref TraceText line)
    {
        if (_trace is not null)
        {
            _trace.Add(line.ToStringAndClear());
        }
    }

    /// <summary>Formats a trace line only when the session traces.</summary>
    [InterpolatedStringHandler]
    private ref struct TraceText
    {
        private DefaultInterpolatedStringHandler _text;

        public TraceText(int literalLength, int formattedCount, SimulatedSession session, out bool enabled)
        {
            enabled = session._trace is not null;
            _text = enabled ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
        }

        public void AppendLiteral(string value) => _text.AppendLiteral(value);

        public void AppendFormatted<T>(T value) => _text.AppendFormatted(value);

        public string ToStringAndClear() => _text.ToStringAndClear();
    }

    /// <summary>Formats a failure message only when the condition failed.</summary>
    [InterpolatedStringHandler]
    private ref struct FailureText
    {
        private DefaultInterpolatedStringHandler _text;

        public FailureText(int literalLength, int formattedCount, bool condition, out bool failed)
        {
            failed = !condition;
            _text = failed ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
        }

        public void AppendLiteral(string value) => _text.AppendLiteral(value);

        public void AppendFormatted<T>(T value) => _text.AppendFormatted(value);

        public string ToStringAndClear() => _text.ToStringAndClear();
    }

    /// <summary>What a set of histories exercised (to see that the random model reaches every path).</summary>
    internal sealed class HistoryCounts
    {
        public readonly SortedDictionary<string, long> Counts = new(StringComparer.Ordinal);

        public void Add(SimulatedSession s)
        {
            Bump("histories", 1);
            Bump("tasks", s._tasks.Length);
            Bump("committed", s._tasks.Count(t => t.Commits == 1));
            foreach (var t in s._tasks)
            {
                if (t.FailType is { } type)
                {
                    Bump("failed " + type + (t.FailedAfterNoAgentsLeft ? " (no agents left)" : ""), 1);
                }
            }

            Bump("deaths", s._core.AgentDeaths);
            Bump("restarts", s._core.AgentRestarts);
            Bump("lease time-outs", s._core.LeaseTimeouts);
            Bump("start time-outs", s._core.StartTimeouts);
            Bump("stalls", s._core.Stalls);
            Bump("steals", s._core.Steals);
            Bump("wakes", s._core.Wakes);
            Bump("memory-bounded histories", s._options.MemoryBudgetBytes > 0 ? 1 : 0);
            Bump("tasks reserving memory", s._tasks.Count(t => t.Memory > 0));
            Bump("no agents left", s._noAgentsLeft ? 1 : 0);
            foreach (var (kind, n) in s._kinds)
            {
                Bump("action " + kind, n);
            }
        }

        public override string ToString() => string.Join(", ", Counts.Select(c => $"{c.Key} {c.Value}"));

        private void Bump(string key, long by) => Counts[key] = Counts.GetValueOrDefault(key) + by;
    }

    private struct SlotEntry
    {
        public long Task;
        public SlotState State;
        public int Agent;
        public int Attempt;
        public bool Hung;
        public long Result;
    }

    private sealed class SimTask
    {
        public long Id;
        public long[] Deps = [];
        public Behavior Behavior;
        public long Memory;
        public bool Submitted;
        public bool Placed;
        public int LastAttempt;
        public int Runs;
        public int Commits;
        public int Fails;
        public string? FailType;
        public bool FailedAfterNoAgentsLeft;
        public bool HandlerCommitted;
        public long HandlerResult;
        public long? CollectedResult;

        public bool Ended => Commits + Fails > 0;
    }

    private sealed class SimAgent
    {
        public readonly List<(long Task, int Slot)> Inbox = new();
        public bool Alive;
        public bool Registered;
        public bool Frozen;
        public bool Standby;
        public long RegisterAt;
        public int Incarnation;
    }
}
