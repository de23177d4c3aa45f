import Glibc

/// Names a running process in a way that survives pid reuse: pid plus its start time (clock
/// ticks since boot, from /proc). Reservations carry this tag so that the reservations of a
/// worker that died (kill -9, crash) can be told apart from those of live workers.
public enum ProcessIdentity {
    public static func current() -> String { tag(pid: getpid()) ?? "pid:\(getpid()):0" }

    public static func tag(pid: Int32) -> String? {
        guard let start = startTime(pid: pid) else { return nil }
        return "pid:\(pid):\(start)"
    }

    /// True when the process named by `tag` is still running (same pid, same start time).
    public static func isAlive(_ tag: String) -> Bool {
        let parts = tag.split(separator: ":")
        guard parts.count == 3, parts[0] == "pid", let pid = Int32(parts[1]) else { return false }
        return self.tag(pid: pid) == tag
    }

    private static func startTime(pid: Int32) -> String? {
        guard let text = TextFile.read("/proc/\(pid)/stat") else { return nil }
        // The command name (field 2) may contain spaces; fields are counted after its ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After ')' come field 3 (state) onwards; starttime is field 22.
        guard fields.count > 19 else { return nil }
        // A zombie (Z) or dying (X) process is gone, even if nobody has reaped it yet (an
        // orphaned worker under a PID 1 that does not reap).
        guard fields[0] != "Z", fields[0] != "X" else { return nil }
        return String(fields[19])
    }
}
