// The shared region is Linux only (futex, flock, /proc); so are its tests.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// Tests start child processes and share a 2-core machine: run fixtures one at a time.
[assembly: NonParallelizable]
