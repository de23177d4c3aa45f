import Glibc

/// Wall-clock seconds for records, monotonic milliseconds for latencies. Stores take a clock
/// function (`@Sendable () -> Int64`) so tests can move time; `Clock.now` is the real one.
public enum Clock {
    /// Unix time in seconds.
    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }

    /// Monotonic milliseconds, for latencies.
    public static func monotonicMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
