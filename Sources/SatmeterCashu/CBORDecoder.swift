import SatmeterSupport

public enum CBORError: Error, Sendable, Equatable, CustomStringConvertible {
    case unexpectedEnd(offset: Int)
    case trailingBytes(offset: Int)
    case indefiniteLength(offset: Int)
    case nestingTooDeep(offset: Int)
    /// A declared length or count larger than what is left of the input.
    case lengthBeyondInput(offset: Int)
    /// Tags, floats, other simple values and reserved encodings.
    case unsupported(offset: Int, initialByte: UInt8)
    case invalidUTF8(offset: Int)
    case duplicateKey(offset: Int)

    public var description: String {
        switch self {
        case let .unexpectedEnd(at): "CBOR ends unexpectedly at byte \(at)"
        case let .trailingBytes(at): "extra bytes after the CBOR value at byte \(at)"
        case let .indefiniteLength(at): "indefinite-length CBOR item at byte \(at)"
        case let .nestingTooDeep(at): "CBOR nested too deeply at byte \(at)"
        case let .lengthBeyondInput(at): "CBOR length larger than the input at byte \(at)"
        case let .unsupported(at, initial): "unsupported CBOR item 0x\(Hex.encode([initial])) at byte \(at)"
        case let .invalidUTF8(at): "CBOR text is not valid UTF-8 at byte \(at)"
        case let .duplicateKey(at): "duplicate CBOR map key at byte \(at)"
        }
    }
}

extension CBOR {
    /// Deep enough for every Cashu structure (a token is four levels), shallow enough for any stack.
    public static let defaultMaxDepth = 16

    /// Decodes exactly one item that spans the whole input. Strict: definite lengths only,
    /// no trailing bytes, no duplicate map keys, every length checked against what is left of the input.
    public static func decode(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(CBORError) -> CBOR {
        var reader = Reader(bytes: bytes, maxDepth: maxDepth)
        let value = try reader.readItem(depth: 0)
        guard reader.index == bytes.count else { throw .trailingBytes(offset: reader.index) }
        return value
    }

    private struct Reader {
        let bytes: [UInt8]
        let maxDepth: Int
        var index = 0

        var remaining: Int { bytes.count - index }

        mutating func readByte() throws(CBORError) -> UInt8 {
            guard index < bytes.count else { throw .unexpectedEnd(offset: index) }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func readBigEndian(_ count: Int) throws(CBORError) -> UInt64 {
            guard remaining >= count else { throw .unexpectedEnd(offset: index) }
            var value: UInt64 = 0
            for _ in 0..<count { value = value << 8 | UInt64(bytes[index]); index += 1 }
            return value
        }

        /// A length or count as Int, refused when the rest of the input cannot hold that many
        /// units of `unitSize` bytes (every item takes at least one byte), so no huge allocation happens.
        func checkedCount(_ argument: UInt64, unitSize: Int, at start: Int) throws(CBORError) -> Int {
            guard argument <= UInt64(remaining / unitSize) else { throw .lengthBeyondInput(offset: start) }
            return Int(argument)
        }

        mutating func readItem(depth: Int) throws(CBORError) -> CBOR {
            let start = index
            guard depth <= maxDepth else { throw .nestingTooDeep(offset: start) }
            let initial = try readByte()
            let major = initial >> 5
            let info = initial & 0x1F

            if major == 7 {
                switch info {
                case 20: return .bool(false)
                case 21: return .bool(true)
                case 22: return .null
                case 23: return .undefined
                case 31: throw .indefiniteLength(offset: start)
                default: throw .unsupported(offset: start, initialByte: initial)
                }
            }

            let argument: UInt64
            switch info {
            case 0..<24: argument = UInt64(info)
            case 24: argument = try readBigEndian(1)
            case 25: argument = try readBigEndian(2)
            case 26: argument = try readBigEndian(4)
            case 27: argument = try readBigEndian(8)
            case 31: throw .indefiniteLength(offset: start)
            default: throw .unsupported(offset: start, initialByte: initial)
            }

            switch major {
            case 0: return .unsigned(argument)
            case 1: return .negative(argument)
            case 2:
                let count = try checkedCount(argument, unitSize: 1, at: start)
                defer { index += count }
                return .bytes(Array(bytes[index..<index + count]))
            case 3:
                let count = try checkedCount(argument, unitSize: 1, at: start)
                guard let text = String(validating: bytes[index..<index + count], as: UTF8.self) else {
                    throw .invalidUTF8(offset: start)
                }
                index += count
                return .text(text)
            case 4:
                let count = try checkedCount(argument, unitSize: 1, at: start)
                var items: [CBOR] = []
                items.reserveCapacity(count)
                for _ in 0..<count { items.append(try readItem(depth: depth + 1)) }
                return .array(items)
            case 5:
                let count = try checkedCount(argument, unitSize: 2, at: start)
                var entries: [(CBOR, CBOR)] = []
                entries.reserveCapacity(count)
                var seen = Set<CBOR>()
                for _ in 0..<count {
                    let keyStart = index
                    let key = try readItem(depth: depth + 1)
                    guard seen.insert(key).inserted else { throw .duplicateKey(offset: keyStart) }
                    entries.append((key, try readItem(depth: depth + 1)))
                }
                return .map(entries)
            default:
                // Major type 6: tags are not part of any Cashu format.
                throw .unsupported(offset: start, initialByte: initial)
            }
        }
    }
}
