import Glibc

/// Line-oriented logging to stderr (journald picks it up). Callers pass facts, never secrets:
/// key ids and hints, not keys; amounts, not tokens.
public enum Log {
    public enum Level: Int, Sendable, Comparable {
        case debug, info, warning, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        var label: String { ["debug", "info", "warning", "error"][rawValue] }
    }

    nonisolated(unsafe) public static var minimumLevel: Level = .info

    public static func debug(_ message: @autoclosure () -> String) { write(.debug, message()) }
    public static func info(_ message: @autoclosure () -> String) { write(.info, message()) }
    public static func warning(_ message: @autoclosure () -> String) { write(.warning, message()) }
    public static func error(_ message: @autoclosure () -> String) { write(.error, message()) }

    private static func write(_ level: Level, _ message: @autoclosure () -> String) {
        guard level >= minimumLevel else { return }
        let line = "satmeter[\(getpid())] \(level.label): \(message())\n"
        _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
    }
}
