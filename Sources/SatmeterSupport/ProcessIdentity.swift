import Glibc

/// Names a running process in a way that survives pid reuse: pid plus its start time (clock
/// ticks since boot, from /proc). Reservations carry this tag so that the reservations of a
/// worker that died (kill -9, crash) can be told apart from those of live workers.
///
/// Several hosts can share one ledger (PostgreSQL), so the tag also names the host:
/// `pid:PID:START@HOST`. A process can only judge the processes of its own host; another host's
/// reservations are its own to sweep (or the timeout's).
public enum ProcessIdentity {
    public static func current() -> String { (tag(pid: getpid()) ?? "pid:\(getpid()):0@\(host)") }

    public static func tag(pid: Int32) -> String? {
        guard let start = startTime(pid: pid) else { return nil }
        return "pid:\(pid):\(start)@\(host)"
    }

    /// This machine: SATMETER_HOST_ID if set, else the hostname and the start of the kernel's
    /// boot id (pids and start times only mean something within one boot of one kernel).
    public static let host: String = {
        if let id = getenv("SATMETER_HOST_ID").map({ String(cString: $0) }), !id.isEmpty { return id }
        var name = [CChar](repeating: 0, count: 256)
        let hostname = gethostname(&name, name.count) == 0
            ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "localhost"
        let boot = TextFile.read("/proc/sys/kernel/random/boot_id").map { String($0.prefix(8)) } ?? "0"
        return "\(hostname)/\(boot)"
    }()

    /// True when the process named by `tag` is still running (same pid, same start time), or
    /// runs on another host (which this process cannot see: never swept from here).
    /// Tags from before hosts were named (`pid:PID:START`) are this host's.
    public static func isAlive(_ tag: String) -> Bool {
        let (local, tagHost) = split(tag)
        if let tagHost, tagHost != host { return true }
        let parts = local.split(separator: ":")
        guard parts.count == 3, parts[0] == "pid", let pid = Int32(parts[1]) else { return false }
        return self.tag(pid: pid).map { split($0).local } == local
    }

    /// The host this tag names (nil for the old host-less form).
    public static func host(of tag: String) -> String? { split(tag).host }

    private static func split(_ tag: String) -> (local: String, host: String?) {
        guard let at = tag.firstIndex(of: "@") else { return (tag, nil) }
        return (String(tag[..<at]), String(tag[tag.index(after: at)...]))
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
