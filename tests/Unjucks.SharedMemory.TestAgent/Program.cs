// Test agent: one command per process, driven by Unjucks.SharedMemory.Tests.
//   increment     <dir> <region> <key> <n>                  n TryUpdate retry-loop increments of a 64-bit counter
//   produce       <dir> <region> <queue> <producer> <count> enqueue (producer, i) for i in [0, count)
//   consume       <dir> <region> <queue> <out-file>         dequeue until a poison message, write pairs to out-file
//   hold-lock     <dir> <region> <lock>                     acquire, print "locked", sleep until killed
//   stall-write   <dir> <region> <key> <value-byte>         start a state write, print "stalled" mid-write, sleep
//   stall-enqueue <dir> <region> <queue>                    claim a queue slot, print "stalled" before publishing
//   stall-dequeue <dir> <region> <queue>                    take the oldest message, print "stalled" before freeing it
//   wait-change   <dir> <region> <last-seen> <timeout-ms>   print "waiting", then "changed N" or "timeout"
//   produce-complete <dir> <region> <queue> <producer> <n>  enqueue n messages like produce, then Complete the queue
//   echo          <dir> <region> <in-queue> <out-queue> <spin|park>  echo messages until a 0-length message
//   register      <dir> <region>                            register, print "registered <slot>", sleep
//   create-register <dir> <region>                          like register, but creates the region if absent (its creator)
//   write-loop    <dir> <region> <key>                      write the key forever (benchmark background load)
//   echo-pipe     <message-bytes>                           echo fixed-size blocks from stdin to stdout (benchmarks)
//   echo-socket   <socket-path> <message-bytes>             connect to a Unix socket and echo fixed-size blocks
//   fuzz          <dir> <seed> <cases>                      damaged regions, every public call on each (Fuzz.cs)
//   fuzz-session  <dir> <seed> <cases>                      damaged session files, what sessions do on them (SessionFuzz.cs)
//   create-sized  <dir> <region> <state-slots>              create a region of that many slots; print "created", or
//                                                           "refused <exception type>: <message>" and exit 3; then
//                                                           "free <bytes>" and "entries <n>" for the folder's file system
// Every command prints "done" on success and exits 0.
using System.Buffers.Binary;
using System.Globalization;
using Unjucks.SharedMemory;

if (args.Length >= 2 && args[0] is "echo-pipe" or "echo-socket")
{
    return Echo.Run(args);
}

if (args.Length == 4 && args[0] == "fuzz-session")
{
    return SessionFuzz.Run(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture));
}

if (args.Length == 4 && args[0] == "fuzz")
{
    return Fuzz.Run(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture));
}

if (args.Length == 4 && args[0] == "create-sized")
{
    int code = 0;
    try
    {
        using var created = SharedRegion.CreateOrOpen(args[2], new SharedRegionOptions { Directory = args[1], StateSlots = int.Parse(args[3], CultureInfo.InvariantCulture) });
        Console.WriteLine("created");
    }
    catch (IOException e)
    {
        Console.WriteLine($"refused {e.GetType().Name}: {e.Message}");
        code = 3;
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"free {new DriveInfo(args[1]).AvailableFreeSpace}"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"entries {Directory.GetFileSystemEntries(args[1]).Length}"));
    return code;
}

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: <command> <dir> <region> ...");
    return 2;
}

string command = args[0];
using var region = command == "create-register"
    ? SharedRegion.CreateOrOpen(args[2], new SharedRegionOptions { Directory = args[1], StateSlots = 16, QueueCapacity = 4, MaxQueues = 2, MaxAgents = 4, MaxLocks = 2 })
    : SharedRegion.Open(args[2], new SharedRegionOptions { Directory = args[1] });
TimeSpan patience = TimeSpan.FromSeconds(60);
switch (command)
{
    case "increment":
    {
        string key = args[3];
        int n = int.Parse(args[4], CultureInfo.InvariantCulture);
        Span<byte> buffer = stackalloc byte[8];
        for (int i = 0; i < n; i++)
        {
            while (true)
            {
                long current = 0;
                bool present = region.State.TryRead(key, buffer, out int length, out long version);
                if (present && length == 8)
                {
                    current = BinaryPrimitives.ReadInt64LittleEndian(buffer);
                }

                BinaryPrimitives.WriteInt64LittleEndian(buffer, current + 1);
                if (region.State.TryUpdate(key, buffer, present ? version : 0, out _))
                {
                    break;
                }
            }
        }

        break;
    }

    case "produce":
    {
        SharedMessageQueue queue = region.Queue(args[3]);
        int producer = int.Parse(args[4], CultureInfo.InvariantCulture);
        int count = int.Parse(args[5], CultureInfo.InvariantCulture);
        Span<byte> message = stackalloc byte[8];
        for (int i = 0; i < count; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(message, producer);
            BinaryPrimitives.WriteInt32LittleEndian(message[4..], i);
            if (!queue.Enqueue(message, patience))
            {
                Console.Error.WriteLine($"enqueue timed out at {i}");
                return 1;
            }
        }

        break;
    }

    case "produce-complete":
    {
        SharedMessageQueue queue = region.Queue(args[3]);
        int producer = int.Parse(args[4], CultureInfo.InvariantCulture);
        int count = int.Parse(args[5], CultureInfo.InvariantCulture);
        Span<byte> message = stackalloc byte[8];
        for (int i = 0; i < count; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(message, producer);
            BinaryPrimitives.WriteInt32LittleEndian(message[4..], i);
            if (!queue.Enqueue(message, patience))
            {
                Console.Error.WriteLine($"enqueue timed out at {i}");
                return 1;
            }
        }

        Console.WriteLine(queue.Complete() ? "completed" : "already completed");
        break;
    }

    case "consume":
    {
        SharedMessageQueue queue = region.Queue(args[3]);
        var received = new List<long>();
        Span<byte> message = stackalloc byte[queue.MaxMessageBytes];
        while (true)
        {
            if (!queue.Dequeue(message, out int length, patience))
            {
                Console.Error.WriteLine("dequeue timed out");
                return 1;
            }

            int producer = BinaryPrimitives.ReadInt32LittleEndian(message);
            if (length != 8 || producer < 0)
            {
                break; // poison
            }

            received.Add(BinaryPrimitives.ReadInt64LittleEndian(message));
        }

        using (var output = new BinaryWriter(File.Create(args[4])))
        {
            foreach (long item in received)
            {
                output.Write(item);
            }
        }

        break;
    }

    case "hold-lock":
    {
        _ = region.Lock(args[3]).Acquire(patience);
        Console.WriteLine("locked");
        Thread.Sleep(Timeout.Infinite);
        break;
    }

    case "stall-write":
    {
        byte fill = byte.Parse(args[4], CultureInfo.InvariantCulture);
        byte[] value = Enumerable.Repeat(fill, region.State.MaxValueBytes).ToArray();
        region.State.WriteAndStall(args[3], value, () =>
        {
            Console.WriteLine("stalled");
            Thread.Sleep(Timeout.Infinite);
        });
        break;
    }

    case "stall-enqueue":
    {
        region.Queue(args[3]).EnqueueAndStall(() =>
        {
            Console.WriteLine("stalled");
            Thread.Sleep(Timeout.Infinite);
        });
        break;
    }

    case "stall-dequeue":
    {
        region.Queue(args[3]).DequeueAndStall(() =>
        {
            Console.WriteLine("stalled");
            Thread.Sleep(Timeout.Infinite);
        });
        break;
    }

    case "wait-change":
    {
        long lastSeen = long.Parse(args[3], CultureInfo.InvariantCulture);
        var timeout = TimeSpan.FromMilliseconds(int.Parse(args[4], CultureInfo.InvariantCulture));
        Console.WriteLine("waiting");
        Console.WriteLine(region.WaitForChange(lastSeen, timeout) ? $"changed {region.ChangeSequence}" : "timeout");
        break;
    }

    case "echo":
    {
        SharedMessageQueue input = region.Queue(args[3]);
        SharedMessageQueue output = region.Queue(args[4]);
        bool spin = args[5] == "spin";
        if (!spin)
        {
            input.SpinIterations = 0;
        }

        Span<byte> message = stackalloc byte[input.MaxMessageBytes];
        Console.WriteLine("ready");
        while (true)
        {
            int length;
            if (spin)
            {
                while (!input.TryDequeue(message, out length))
                {
                    Thread.SpinWait(1);
                }
            }
            else if (!input.Dequeue(message, out length, patience))
            {
                return 1;
            }

            if (length == 0)
            {
                break;
            }

            output.Enqueue(message[..length], patience);
        }

        break;
    }

    case "register":
    case "create-register":
    {
        Console.WriteLine($"registered {region.Agents.Register()}");
        Thread.Sleep(Timeout.Infinite);
        break;
    }

    case "write-loop":
    {
        var value = new byte[8];
        for (long i = 0; ; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(value, i);
            region.State.Write(args[3], value);
        }
    }

    default:
        Console.Error.WriteLine($"unknown command '{command}'");
        return 2;
}

Console.WriteLine("done");
return 0;
