using Spectre.Console;

namespace Unjucks.Cli;

/// <summary>What every command action works with: the surroundings, the raw writers and a Spectre console over stdout.</summary>
internal sealed class CliContext
{
    /// <summary>Width used for tables when the output is not a terminal (files, pipes, tests).</summary>
    internal const int PlainWidth = 160;

    public CliContext(ICliServices services, TextWriter output, TextWriter error)
    {
        Services = services;
        Out = output;
        Error = error;
        var terminal = services.OutputIsTerminal;
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        if (!terminal)
        {
            Console.Profile.Width = PlainWidth;
        }
    }

    /// <summary>For tests: a context over a given console (e.g. Spectre's TestConsole).</summary>
    internal CliContext(ICliServices services, TextWriter output, TextWriter error, IAnsiConsole console)
    {
        Services = services;
        Out = output;
        Error = error;
        Console = console;
    }

    public ICliServices Services { get; }

    public TextWriter Out { get; }

    public TextWriter Error { get; }

    public IAnsiConsole Console { get; }

    /// <summary>Resolves a path given on the command line against the tool's current directory.</summary>
    public string FullPath(string path) => Path.GetFullPath(path, Services.CurrentDirectory);
}
