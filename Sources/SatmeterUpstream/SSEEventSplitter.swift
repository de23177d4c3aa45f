import SatmeterSupport

/// Splits a byte stream into complete server-sent events. Upstream chunks do not line up with
/// events, so bytes are buffered until a blank line (`\n\n` or `\r\n\r\n`) ends an event.
public struct SSEEventSplitter {
    private var buffer: [UInt8] = []
    /// Refuse to buffer an unbounded "event" from a misbehaving upstream.
    public static let maxEventBytes = 4 * 1024 * 1024

    public init() {}

    /// Feeds bytes; returns the complete events (each including its terminating blank line).
    public mutating func feed(_ bytes: [UInt8]) -> [[UInt8]] {
        buffer.append(contentsOf: bytes)
        var events: [[UInt8]] = []
        var start = 0
        var i = 0
        while i < buffer.count {
            if buffer[i] == 0x0A {
                if i + 1 < buffer.count, buffer[i + 1] == 0x0A {
                    events.append(Array(buffer[start...(i + 1)]))
                    start = i + 2
                    i += 2
                    continue
                }
                if i + 2 < buffer.count, buffer[i + 1] == 0x0D, buffer[i + 2] == 0x0A {
                    events.append(Array(buffer[start...(i + 2)]))
                    start = i + 3
                    i += 3
                    continue
                }
            }
            i += 1
        }
        buffer.removeFirst(start)
        return events
    }

    /// Whatever is left when the stream ends (an unterminated last event).
    public mutating func finish() -> [UInt8] {
        defer { buffer = [] }
        return buffer
    }

    public var isOverflowing: Bool { buffer.count > Self.maxEventBytes }

    /// The `event:` name of one event, if it has one (`error`, `response.completed`).
    public static func name(of event: [UInt8]) -> String? {
        for rawLine in event.split(separator: 0x0A, omittingEmptySubsequences: true) {
            var line = rawLine[...]
            if line.last == 0x0D { line = line.dropLast() }
            guard line.starts(with: Array("event:".utf8)) else { continue }
            return String(decoding: line.dropFirst(6), as: UTF8.self).trimmingASCII(" \t")
        }
        return nil
    }

    /// The joined `data:` lines of one event, or nil for comments and events without data.
    public static func data(of event: [UInt8]) -> String? {
        // Split bytes, not a String: Swift treats "\r\n" as one Character.
        var lines: [String] = []
        for rawLine in event.split(separator: 0x0A, omittingEmptySubsequences: true) {
            var line = rawLine[...]
            if line.last == 0x0D { line = line.dropLast() }
            guard line.starts(with: Array("data:".utf8)) else { continue }
            var value = line.dropFirst(5)
            if value.first == 0x20 { value = value.dropFirst() }
            lines.append(String(decoding: value, as: UTF8.self))
        }
        return lines.isEmpty ? nil : lines.joined(separator: "\n")
    }
}
