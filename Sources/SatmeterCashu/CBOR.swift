/// The subset of CBOR (RFC 8949) that Cashu tokens (NUT-00 V4) and payment requests (NUT-18) use:
/// integers, byte and text strings, arrays, maps, true/false/null/undefined. No tags, no floats.
/// Maps keep their order so that encoding reproduces the published byte strings.
public indirect enum CBOR: Sendable, Hashable {
    case unsigned(UInt64)
    /// The integer −1 − n (major type 1 carries n).
    case negative(UInt64)
    case bytes([UInt8])
    case text(String)
    case array([CBOR])
    case map([(CBOR, CBOR)])
    case bool(Bool)
    case null
    /// Simple value 23. The NUT-18 vectors write an absent transport tag list this way.
    case undefined

    public static func == (lhs: CBOR, rhs: CBOR) -> Bool {
        switch (lhs, rhs) {
        case let (.unsigned(a), .unsigned(b)), let (.negative(a), .negative(b)): a == b
        case let (.bytes(a), .bytes(b)): a == b
        case let (.text(a), .text(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.map(a), .map(b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.bool(a), .bool(b)): a == b
        case (.null, .null), (.undefined, .undefined): true
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case let .unsigned(n): hasher.combine(0); hasher.combine(n)
        case let .negative(n): hasher.combine(1); hasher.combine(n)
        case let .bytes(b): hasher.combine(2); hasher.combine(b)
        case let .text(t): hasher.combine(3); hasher.combine(t)
        case let .array(items): hasher.combine(4); hasher.combine(items)
        case let .map(entries):
            hasher.combine(5)
            hasher.combine(entries.count)
            for (key, value) in entries {
                hasher.combine(key)
                hasher.combine(value)
            }
        case let .bool(b): hasher.combine(7); hasher.combine(b)
        case .null: hasher.combine(8)
        case .undefined: hasher.combine(9)
        }
    }

    /// A map with text keys, in the given order.
    public static func object(_ entries: [(String, CBOR)]) -> CBOR {
        .map(entries.map { (.text($0.0), $0.1) })
    }
}

// MARK: - Encoding

extension CBOR {
    /// Definite-length, shortest-form encoding.
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        write(to: &out)
        return out
    }

    private func write(to out: inout [UInt8]) {
        switch self {
        case let .unsigned(n): CBOR.writeHead(major: 0, argument: n, to: &out)
        case let .negative(n): CBOR.writeHead(major: 1, argument: n, to: &out)
        case let .bytes(b):
            CBOR.writeHead(major: 2, argument: UInt64(b.count), to: &out)
            out.append(contentsOf: b)
        case let .text(t):
            CBOR.writeHead(major: 3, argument: UInt64(t.utf8.count), to: &out)
            out.append(contentsOf: t.utf8)
        case let .array(items):
            CBOR.writeHead(major: 4, argument: UInt64(items.count), to: &out)
            for item in items { item.write(to: &out) }
        case let .map(entries):
            CBOR.writeHead(major: 5, argument: UInt64(entries.count), to: &out)
            for (key, value) in entries {
                key.write(to: &out)
                value.write(to: &out)
            }
        case let .bool(b): out.append(b ? 0xF5 : 0xF4)
        case .null: out.append(0xF6)
        case .undefined: out.append(0xF7)
        }
    }

    private static func writeHead(major: UInt8, argument: UInt64, to out: inout [UInt8]) {
        let type = major << 5
        switch argument {
        case 0..<24: out.append(type | UInt8(argument))
        case 24...0xFF: out.append(contentsOf: [type | 24, UInt8(argument)])
        case 0x100...0xFFFF: out.append(type | 25); appendBigEndian(argument, bytes: 2, to: &out)
        case 0x1_0000...0xFFFF_FFFF: out.append(type | 26); appendBigEndian(argument, bytes: 4, to: &out)
        default: out.append(type | 27); appendBigEndian(argument, bytes: 8, to: &out)
        }
    }

    private static func appendBigEndian(_ value: UInt64, bytes: Int, to out: inout [UInt8]) {
        for i in stride(from: bytes - 1, through: 0, by: -1) {
            out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))))
        }
    }
}

// MARK: - Access

extension CBOR {
    /// The value under a text key of a map; nil for other kinds or a missing key.
    public subscript(key: String) -> CBOR? {
        guard case let .map(entries) = self else { return nil }
        return entries.first { $0.0 == .text(key) }?.1
    }

    public var textValue: String? {
        if case let .text(t) = self { return t }
        return nil
    }

    public var bytesValue: [UInt8]? {
        if case let .bytes(b) = self { return b }
        return nil
    }

    public var unsignedValue: UInt64? {
        if case let .unsigned(n) = self { return n }
        return nil
    }

    public var boolValue: Bool? {
        if case let .bool(b) = self { return b }
        return nil
    }

    public var arrayValue: [CBOR]? {
        if case let .array(a) = self { return a }
        return nil
    }

    public var mapValue: [(CBOR, CBOR)]? {
        if case let .map(m) = self { return m }
        return nil
    }
}
