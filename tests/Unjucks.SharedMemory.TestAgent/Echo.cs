using System.Globalization;
using System.Net.Sockets;

/// <summary>Echo peers over an anonymous pipe (stdin/stdout) and a Unix domain socket, for the round-trip benchmarks.</summary>
internal static class Echo
{
    internal static int Run(string[] args)
    {
        if (args[0] == "echo-pipe")
        {
            int size = int.Parse(args[1], CultureInfo.InvariantCulture);
            using Stream input = Console.OpenStandardInput();
            using Stream output = Console.OpenStandardOutput();
            return Loop(input, output, size);
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(args[1]));
        using var stream = new NetworkStream(socket, ownsSocket: false);
        return Loop(stream, stream, int.Parse(args[2], CultureInfo.InvariantCulture));
    }

    private static int Loop(Stream input, Stream output, int size)
    {
        var buffer = new byte[size];
        while (true)
        {
            try
            {
                input.ReadExactly(buffer);
            }
            catch (EndOfStreamException)
            {
                return 0; // the benchmark closed its end
            }

            output.Write(buffer);
            output.Flush();
        }
    }
}
