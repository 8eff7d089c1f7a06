namespace Unjucks.Agents;

public sealed partial class WorkStealingScheduler
{
    /// <summary>Adapts the scheduler to <see cref="System.Threading.Tasks.TaskScheduler"/>.</summary>
    private sealed class WorkerTaskScheduler : TaskScheduler
    {
        private readonly WorkStealingScheduler _owner;

        public WorkerTaskScheduler(WorkStealingScheduler owner) => _owner = owner;

        public override int MaximumConcurrencyLevel => _owner.WorkerCount;

        internal void Execute(Task task) => TryExecuteTask(task);

        protected override void QueueTask(Task task)
        {
            if (!_owner.Submit(task))
            {
                _owner.RedirectToThreadPool(task);
            }
        }

        // Inline only on our own workers: running a task on a foreign thread would break the guarantee
        // that code scheduled here runs on the workers. A previously queued task may run inline; its queue
        // entry then finds it already executed (TryExecuteTask returns false) and is skipped.
        protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued)
            => _owner.IsCurrentThreadWorker && TryExecuteTask(task);

        // Not supported (debugger aid only): items live in lock-free queues that cannot be enumerated safely.
        protected override IEnumerable<Task>? GetScheduledTasks() => null;
    }
}
