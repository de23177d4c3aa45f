import Testing
@testable import SatmeterCashu
@testable import SatmeterSupport

@Suite struct CashuCBORTests {
    /// Examples from RFC 8949 Appendix A, limited to the supported types; each must decode and re-encode identically.
    @Test(arguments: [
        "00", "01", "0a", "17", "1818", "1819", "1864", "1903e8", "1a000f4240", "1b000000e8d4a51000", "1bffffffffffffffff",
        "20", "29", "3863", "3903e7", "f4", "f5", "f6", "f7", "40", "4401020304", "60", "6161", "6449455446", "62225c", "62c3bc",
        "63e6b0b4", "80", "83010203", "8301820203820405", "98190102030405060708090a0b0c0d0e0f101112131415161718181819",
        "a0", "a201020304", "a26161016162820203", "826161a161626163",
    ])
    func rfcExamplesRoundTrip(hex: String) throws {
        let bytes = try #require(Hex.decode(hex))
        #expect(try CBOR.decode(bytes).encoded == bytes)
    }

    @Test func decodesToTheExpectedValues() throws {
        #expect(try CBOR.decode([0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) == .unsigned(.max))
        #expect(try CBOR.decode([0x39, 0x03, 0xe7]) == .negative(999))
        let map = try CBOR.decode(try #require(Hex.decode("a26161016162820203")))
        #expect(map["a"] == .unsigned(1))
        #expect(map["b"] == .array([.unsigned(2), .unsigned(3)]))
        #expect(map["c"] == nil)
    }

    @Test func encodesShortestHeads() {
        #expect(CBOR.unsigned(23).encoded == [0x17])
        #expect(CBOR.unsigned(24).encoded == [0x18, 24])
        #expect(CBOR.unsigned(256).encoded == [0x19, 1, 0])
        #expect(CBOR.unsigned(65536).encoded == [0x1a, 0, 1, 0, 0])
        #expect(CBOR.unsigned(1 << 32).encoded == [0x1b, 0, 0, 0, 1, 0, 0, 0, 0])
        #expect(CBOR.bytes([UInt8](repeating: 7, count: 300)).encoded.prefix(3) == [0x59, 0x01, 0x2c])
    }

    @Test(arguments: [
        ("5f42010243030405ff", CBORError.indefiniteLength(offset: 0)),
        ("7f657374726561646d696e67ff", .indefiniteLength(offset: 0)),
        ("9f018202039f0405ffff", .indefiniteLength(offset: 0)),
        ("bf61610161629f0203ffff", .indefiniteLength(offset: 0)),
        ("81ff", .indefiniteLength(offset: 1)),
        ("0000", .trailingBytes(offset: 1)),
        ("", .unexpectedEnd(offset: 0)),
        ("1903", .unexpectedEnd(offset: 1)),
        ("6261", .lengthBeyondInput(offset: 0)),
        ("5bffffffffffffffff", .lengthBeyondInput(offset: 0)),
        ("7b7fffffffffffffff00", .lengthBeyondInput(offset: 0)),
        ("9b00000000ffffffff", .lengthBeyondInput(offset: 0)),
        ("bb00000000000000020000", .lengthBeyondInput(offset: 0)),
        ("f93c00", .unsupported(offset: 0, initialByte: 0xf9)),
        ("fb3ff199999999999a", .unsupported(offset: 0, initialByte: 0xfb)),
        ("f820", .unsupported(offset: 0, initialByte: 0xf8)),
        ("c11a514b67b0", .unsupported(offset: 0, initialByte: 0xc1)),
        ("1c", .unsupported(offset: 0, initialByte: 0x1c)),
        ("62c328", .invalidUTF8(offset: 0)),
        ("a2616101616102", .duplicateKey(offset: 4)),
    ])
    func refusesMalformedInput(hex: String, expected: CBORError) throws {
        let bytes = try #require(Hex.decode(hex))
        #expect(throws: expected) { try CBOR.decode(bytes) }
    }

    @Test func refusesDeepNesting() {
        let deep = [UInt8](repeating: 0x81, count: 1000) + [0x00]
        #expect(throws: CBORError.nestingTooDeep(offset: 17)) { try CBOR.decode(deep) }
        let ok = [UInt8](repeating: 0x81, count: 16) + [0x00]
        #expect((try? CBOR.decode(ok)) != nil)
    }

    /// Mutations of a nested value and random bytes must give a value or an error, never a crash.
    @Test func survivesMutatedAndRandomInput() {
        var rng = SeededGenerator(seed: 0x5eed)
        let base = CBOR.object([
            ("t", .array([.object([("i", .bytes([0, 1, 2, 3, 4, 5, 6, 7])), ("p", .array([.object([("a", .unsigned(1)), ("s", .text("secret")), ("c", .bytes([UInt8](repeating: 2, count: 33)))])]))])])),
            ("m", .text("http://localhost:3338")), ("u", .text("sat")), ("n", .negative(7)), ("b", .bool(true)), ("z", .null),
        ]).encoded
        for _ in 0..<3000 {
            var bytes = base
            for _ in 0...Int.random(in: 0...4, using: &rng) {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0...2, using: &rng) {
                case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes.remove(at: i)
                default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: i)
                }
                if bytes.isEmpty { break }
            }
            _ = try? CBOR.decode(bytes)
        }
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? CBOR.decode(bytes)
        }
    }
}

/// A small deterministic generator (xorshift64*) so the mutation test is repeatable.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 0x9e3779b97f4a7c15 : seed }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545f4914f6cdd1d
    }
}
