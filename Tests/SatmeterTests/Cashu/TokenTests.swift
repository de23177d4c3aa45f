import Testing
@testable import SatmeterCashu
@testable import SatmeterSupport

/// NUT-00 token vectors (tests/00-tests.md), Nutshell-made tokens, and hostile input.
@Suite struct CashuTokenTests {
    static let secretA = "407915bc212be61a77e3e6d2aeb4c727980bda51cd06a6afc29e2861768a7837"

    // MARK: V3

    @Test func v3Vector() throws {
        let token = try Token.parse(TokenVectors.v3)
        #expect(token.mint == "https://8333.space:3338")
        #expect(token.unit == "sat")
        #expect(token.memo == "Thank you.")
        #expect(token.proofs.map(\.amount) == [2, 8])
        #expect(token.proofs.allSatisfy { $0.keysetID == "009a1f293253e41e" && $0.dleq == nil && $0.witness == nil })
        #expect(token.proofs[0].secret == Self.secretA)
        #expect(token.proofs[0].C == "02bc9097997d81afb2cc7346b5e4345a9346bd2a506eb7958598a72f0cf85163ea")
        #expect(token.proofs[1].secret == "fe15109314e61d7756b0f8ee0f23a624acaa3f4e042f61433c728c7057b931be")
        #expect(token.proofs[1].C == "029e8e5050b890a7d6c0968db16bc1d5d5fa040ea1de284f6ec69d61299f671059")
        #expect(try token.totalAmount() == 10)
    }

    @Test func v3InvalidPrefixVectors() {
        #expect(throws: TokenError.notACashuToken) { try Token.parse(TokenVectors.v3WrongPrefix) }
        #expect(throws: TokenError.notACashuToken) { try Token.parse(TokenVectors.v3NoPrefix) }
    }

    @Test func v3PaddedAndUnpaddedVectors() throws {
        let padded = try Token.parse(TokenVectors.v3Padded)
        #expect(padded.memo == "Thank you very much.")
        #expect(try Token.parse(TokenVectors.v3Unpadded) == padded)
    }

    @Test func v3ReadsStandardBase64Too() throws {
        let standard = TokenVectors.v3Padded.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 }
        #expect(try Token.parse(String(standard)) == (try Token.parse(TokenVectors.v3Padded)))
    }

    /// A V3 token re-serialized as V4 keeps everything.
    @Test func v3ConvertsToV4() throws {
        let token = try Token.parse(TokenVectors.v3)
        let again = try Token.parse(token.serialized())
        #expect(again == token)
        #expect(token.serialized().hasPrefix("cashuB"))
    }

    static func v3(_ json: String) -> String { "cashuA" + Base64URL.encode(Array(json.utf8)) }

    static func v3Proof(amount: String = "2", id: String = "009a1f293253e41e", extra: String = "") -> String {
        #"{"amount":\#(amount),"id":"\#(id)","secret":"\#(secretA)","C":"02bc9097997d81afb2cc7346b5e4345a9346bd2a506eb7958598a72f0cf85163ea"\#(extra)}"#
    }

    @Test func v3WithSeveralMints() throws {
        let text = Self.v3(#"{"token":[{"mint":"https://a.example/","proofs":[\#(Self.v3Proof())]},{"mint":"https://b.example","proofs":[\#(Self.v3Proof(amount: "4"))]},{"mint":"https://a.example","proofs":[\#(Self.v3Proof(amount: "8"))]}]}"#)
        #expect(throws: TokenError.multipleMints) { try Token.parse(text) }
        let tokens = try Token.parseMultiMint(text)
        #expect(tokens.map(\.mint) == ["https://a.example", "https://b.example"])
        #expect(tokens.map { $0.proofs.map(\.amount) } == [[2, 8], [4]])
        #expect(tokens.allSatisfy { $0.unit == "sat" && $0.memo == nil })
        let oneWithValue = Self.v3(#"{"token":[{"mint":"https://a.example","proofs":[]},{"mint":"https://b.example","proofs":[\#(Self.v3Proof())]}]}"#)
        #expect(try Token.parse(oneWithValue).mint == "https://b.example")
    }

    @Test func v3CarriesDLEQAndWitness() throws {
        let dleq = #","dleq":{"e":"\#(String(repeating: "ab", count: 32))","s":"\#(String(repeating: "CD", count: 32))","r":"\#(String(repeating: "01", count: 32))"},"witness":"{\"signatures\":[]}""#
        let token = try Token.parse(Self.v3(#"{"token":[{"mint":"https://a.example","proofs":[\#(Self.v3Proof(extra: dleq))]}],"unit":"usd","memo":null}"#))
        #expect(token.unit == "usd")
        #expect(token.memo == nil)
        let proof = try #require(token.proofs.first)
        #expect(proof.dleq?.s == String(repeating: "cd", count: 32))
        #expect(proof.witness == #"{"signatures":[]}"#)
        #expect(try Token.parse(token.serialized()) == token)
    }

    @Test(arguments: [
        (#"{"token":[]}"#, TokenError.noProofs),
        (#"{"token":[{"mint":"https://a.example","proofs":[]}]}"#, .noProofs),
        (#"{"tokens":[]}"#, .missingField("token")),
        (#"{"token":[{"proofs":[]}]}"#, .missingField("token[0].mint")),
        (#"{"token":[{"mint":"/","proofs":[]}]}"#, .invalidField("token[0].mint", "must not be empty")),
        (#"{"token":[{"mint":"https://a.example","proofs":[\#(CashuTokenTests.v3Proof(amount: "-2"))]}]}"#, .invalidField("token[0].proofs[0].amount", "must be a whole number")),
        (#"{"token":[{"mint":"https://a.example","proofs":[\#(CashuTokenTests.v3Proof(amount: "2.5"))]}]}"#, .invalidField("token[0].proofs[0].amount", "must be a whole number")),
        (#"{"token":[{"mint":"https://a.example","proofs":[\#(CashuTokenTests.v3Proof(amount: "0"))]}]}"#, .invalidField("token[0].proofs[0].amount", "must be positive")),
        (#"{"token":[{"mint":"https://a.example","proofs":[\#(CashuTokenTests.v3Proof(amount: "18446744073709551616"))]}]}"#, .invalidField("token[0].proofs[0].amount", "must be a whole number")),
        (#"{"token":[{"mint":"https://a.example","proofs":[\#(CashuTokenTests.v3Proof(id: "I2yN+iRYfkzT"))]}]}"#, .invalidField("token[0].proofs[0].id", "must be a keyset id of 8 or 33 bytes in hex")),
        (#"[1,2]"#, .invalidField("top level", "must be an object")),
    ])
    func v3Refusals(json: String, expected: TokenError) {
        #expect(throws: expected) { try Token.parse(Self.v3(json)) }
    }

    @Test func v3RefusesBrokenJSON() {
        #expect(throws: TokenError.invalidJSON("expected object key at byte 11")) { try Token.parse(Self.v3(#"{"token":[{"#)) }
    }

    // MARK: V4

    @Test func v4SingleKeysetVector() throws {
        let token = try Token.parse(TokenVectors.v4SingleKeyset)
        #expect(token.mint == "http://localhost:3338")
        #expect(token.unit == "sat")
        #expect(token.memo == "Thank you")
        let proof = try #require(token.proofs.first)
        #expect(token.proofs.count == 1)
        #expect(proof.amount == 1)
        #expect(proof.keysetID == "00ad268c4d1f5826")
        #expect(proof.secret == "9a6dbb847bd232ba76db0df197216b29d3b8cc14553cd27827fc1cc942fedb4e")
        #expect(proof.C == "038618543ffb6b8695df4ad4babcde92a34a96bdcd97dcee0d7ccf98d472126792")
        // The vector is padded; tokens are written without padding.
        #expect(token.serialized() == TokenVectors.v4SingleKeyset.filter { $0 != "=" })
    }

    @Test func v4MultipleKeysetsVector() throws {
        let token = try Token.parse(TokenVectors.v4MultipleKeysets)
        #expect(token.mint == "http://localhost:3338")
        #expect(token.memo == nil)
        #expect(token.proofs.map(\.keysetID) == ["00ffd48b8f5ecf80", "00ad268c4d1f5826", "00ad268c4d1f5826"])
        #expect(token.proofs.map(\.amount) == [1, 2, 1])
        #expect(token.proofs[1].secret == "1323d3d4707a58ad2e23ada4e9f1f49f5a5b4ac7b708eb0d61f738f48307e8ee")
        #expect(token.proofs[2].C == "0273129c5719e599379a974a626363c333c56cafc0e6d01abe46d5808280789c63")
        #expect(token.serialized() == TokenVectors.v4MultipleKeysets)
        #expect(TokenV4.encode(token) == Hex.decode(TokenVectors.v4MultipleKeysetsCBORHex))
    }

    @Test func v4RawBinaryVector() throws {
        let raw = try #require(Hex.decode(TokenVectors.v4RawHex))
        let token = try Token.parse(rawBytes: raw)
        #expect(token == (try Token.parse(TokenVectors.v4SingleKeyset)))
        #expect(token.rawBytes == raw)
        #expect(throws: TokenError.notACashuToken) { try Token.parse(rawBytes: Array("cashB".utf8)) }
        #expect(throws: TokenError.unsupportedVersion("A")) { try Token.parse(rawBytes: Array("crawA{}".utf8)) }
    }

    static func v4(_ value: CBOR) -> String { "cashuB" + Base64URL.encode(value.encoded) }

    static let keysetBytes = CBOR.bytes([0, 1, 2, 3, 4, 5, 6, 7])
    static let signature = CBOR.bytes([0x02] + [UInt8](repeating: 9, count: 32))

    static func v4Proof(_ amount: CBOR = .unsigned(1), c: CBOR = signature, extra: [(String, CBOR)] = []) -> CBOR {
        .object([("a", amount), ("s", .text("secret")), ("c", c)] + extra)
    }

    static func v4Token(_ proofs: [CBOR], id: CBOR = keysetBytes, extra: [(String, CBOR)] = []) -> CBOR {
        .object([("m", .text("https://mint.example")), ("u", .text("sat")), ("t", .array([.object([("i", id), ("p", .array(proofs))])]))] + extra)
    }

    @Test func v4IgnoresUnknownFieldsAndNulls() throws {
        let token = try Token.parse(Self.v4(Self.v4Token(
            [Self.v4Proof(extra: [("x", .unsigned(5)), ("d", .null), ("w", .null)])],
            extra: [("d", .null), ("future", .array([.bool(true)]))])))
        #expect(token.memo == nil)
        #expect(token.proofs.first?.dleq == nil)
        #expect(token.proofs.first?.secret == "secret")
    }

    @Test func v4AcceptsFullV2KeysetIDs() throws {
        let fullID = [UInt8](repeating: 1, count: 1) + [UInt8](repeating: 0xab, count: 32)
        let token = try Token.parse(Self.v4(Self.v4Token([Self.v4Proof()], id: .bytes(fullID))))
        #expect(token.proofs.first?.keysetID == Hex.encode(fullID))
    }

    @Test(arguments: [
        (CashuTokenTests.v4Token([]), TokenError.noProofs),
        (CashuTokenTests.v4Token([CashuTokenTests.v4Proof(.negative(0))]), .invalidField("t[0].p[0].a", "must be a whole number")),
        (CashuTokenTests.v4Token([CashuTokenTests.v4Proof(c: .text("02ab"))]), .invalidField("t[0].p[0].c", "must be a byte string")),
        (CashuTokenTests.v4Token([CashuTokenTests.v4Proof(c: .bytes([2, 3]))]), .invalidField("t[0].p[0].C", "must be a 33-byte compressed point in hex")),
        (CashuTokenTests.v4Token([CashuTokenTests.v4Proof()], id: .bytes([0, 1])), .invalidField("t[0].p[0].id", "must be a keyset id of 8 or 33 bytes in hex")),
        (CashuTokenTests.v4Token([CashuTokenTests.v4Proof(extra: [("d", .object([("e", .bytes([1]))]))])]), .missingField("t[0].p[0].d.s")),
        (CBOR.object([("u", .text("sat")), ("t", .array([]))]), .missingField("m")),
        (CBOR.object([("m", .text("https://mint.example")), ("t", .array([]))]), .missingField("u")),
        (CBOR.array([]), .invalidField("top level", "must be an object")),
    ])
    func v4Refusals(cbor: CBOR, expected: TokenError) {
        #expect(throws: expected) { try Token.parse(Self.v4(cbor)) }
    }

    @Test func v4RefusesMalformedCBOR() {
        #expect(throws: TokenError.invalidCBOR("extra bytes after the CBOR value at byte 1")) { try Token.parse("cashuB" + Base64URL.encode([0xa0, 0x00])) }
        #expect(throws: TokenError.invalidBase64) { try Token.parse("cashuB!!!!") }
    }

    @Test func totalAmountRefusesOverflow() throws {
        let half = CBOR.unsigned(1 << 63)
        let token = try Token.parse(Self.v4(Self.v4Token([Self.v4Proof(half), Self.v4Proof(half)])))
        #expect(throws: TokenError.amountOverflow) { try token.totalAmount() }
        let max = try Token.parse(Self.v4(Self.v4Token([Self.v4Proof(.unsigned(.max))])))
        #expect(try max.totalAmount() == .max)
    }

    // MARK: Framing

    @Test func acceptsWhitespaceAndURIPrefix() throws {
        let expected = try Token.parse(TokenVectors.v4MultipleKeysets)
        #expect(try Token.parse("  \n\t" + TokenVectors.v4MultipleKeysets + "\r\n ") == expected)
        #expect(try Token.parse("cashu:" + TokenVectors.v4MultipleKeysets) == expected)
        #expect(try Token.parse(" CASHU:" + TokenVectors.v4MultipleKeysets + "\n") == expected)
    }

    @Test func refusesOtherFraming() {
        #expect(throws: TokenError.empty) { try Token.parse(" \n ") }
        #expect(throws: TokenError.unsupportedVersion("C")) { try Token.parse("cashuCabc") }
        #expect(throws: TokenError.unsupportedVersion("")) { try Token.parse("cashu") }
        #expect(throws: TokenError.notACashuToken) { try Token.parse("creqAabc") }
        #expect(throws: TokenError.tooLong(limit: Token.maxEncodedLength)) {
            try Token.parse("cashuB" + String(repeating: "A", count: Token.maxEncodedLength))
        }
    }

    @Test func descriptionsLeaveOutSecretsAndSignatures() throws {
        let token = try Token.parse(TokenVectors.v3)
        let text = "\(token) \(token.proofs)"
        #expect(!text.contains(Self.secretA))
        #expect(!text.contains(token.proofs[0].C))
        #expect(text.contains("https://8333.space:3338"))
    }

    @Test func everyErrorHasAMessage() {
        let errors: [TokenError] = [
            .empty, .tooLong(limit: 1), .notACashuToken, .unsupportedVersion("C"), .invalidBase64, .invalidJSON("x"),
            .invalidCBOR("x"), .missingField("m"), .invalidField("a", "must be positive"), .noProofs, .multipleMints, .amountOverflow,
        ]
        #expect(errors.allSatisfy { !$0.description.isEmpty })
        #expect(TokenError.invalidField("t[0].p[0].a", "must be positive").description == "the token's 't[0].p[0].a' must be positive")
    }

    /// Random edits of real tokens must give a token or an error, never a crash.
    @Test func survivesMutatedTokens() {
        var rng = SeededGenerator(seed: 42)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ ")
        for base in [TokenVectors.v3, TokenVectors.v4MultipleKeysets, TokenVectors.nutshellWithDLEQ] {
            let characters = Array(base)
            for _ in 0..<500 {
                var mutated = characters
                for _ in 0...Int.random(in: 0...3, using: &rng) {
                    let i = Int.random(in: 6..<mutated.count, using: &rng)
                    mutated[i] = alphabet.randomElement(using: &rng) ?? "A"
                }
                _ = try? Token.parse(String(mutated))
            }
        }
        let raw = Hex.decode(TokenVectors.v4RawHex) ?? []
        for _ in 0..<1000 {
            var bytes = raw
            let i = Int.random(in: 5..<bytes.count, using: &rng)
            bytes[i] = UInt8.random(in: 0...255, using: &rng)
            _ = try? Token.parse(rawBytes: Int.random(in: 0...1, using: &rng) == 0 ? bytes : Array(bytes[..<i]))
        }
    }

    // MARK: Nutshell 0.19.2

    @Test func nutshellTokens() throws {
        let plain = try Token.parse(TokenVectors.nutshellPlain)
        #expect(plain.mint == "http://127.0.0.1:3338")
        #expect(plain.unit == "sat")
        #expect(plain.proofs.map(\.amount) == [4, 1])
        #expect(plain.proofs.allSatisfy { $0.keysetID == "00c3c8469bdea580" && $0.dleq == nil })
        #expect(try plain.totalAmount() == 5)
        #expect(plain.serialized() == TokenVectors.nutshellPlain)

        let v3 = try Token.parse(TokenVectors.nutshellV3)
        #expect(v3.memo == "hi there")
        #expect(v3.proofs.map(\.amount) == [2])

        let withDLEQ = try Token.parse(TokenVectors.nutshellWithDLEQ)
        #expect(withDLEQ.proofs.allSatisfy { $0.dleq != nil })
        #expect(withDLEQ.serialized() == TokenVectors.nutshellWithDLEQ)
    }
}
