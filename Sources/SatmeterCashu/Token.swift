/// A Cashu token from a single mint (NUT-00). Read from `cashuA` (V3) or `cashuB` (V4); written as `cashuB`.
/// Its description shows mint, unit and amounts only.
public struct Token: Sendable, Equatable, CustomStringConvertible {
    /// Without trailing slashes, as NUT-00 requires.
    public var mint: String
    public var unit: String
    public var memo: String?
    public var proofs: [Proof]

    public init(mint: String, unit: String, memo: String? = nil, proofs: [Proof]) {
        self.mint = Token.normalizedMint(mint)
        self.unit = unit
        self.memo = memo
        self.proofs = proofs
    }

    /// Longest serialized token accepted, so hostile input cannot make parsing expensive.
    public static let maxEncodedLength = 100_000

    /// The sum of the proof amounts; throws rather than wrapping around.
    public func totalAmount() throws(TokenError) -> UInt64 {
        var total: UInt64 = 0
        for proof in proofs {
            let (sum, overflow) = total.addingReportingOverflow(proof.amount)
            guard !overflow else { throw .amountOverflow }
            total = sum
        }
        return total
    }

    public var description: String {
        "Token(mint: \(mint), unit: \(unit), amounts: \(proofs.map(\.amount)))"
    }

    package static func normalizedMint(_ mint: String) -> String {
        var mint = Substring(mint)
        while mint.hasSuffix("/") { mint.removeLast() }
        return String(mint)
    }
}

// MARK: - Reading

extension Token {
    /// Reads a `cashuA` or `cashuB` token; surrounding whitespace and a `cashu:` URI prefix are allowed.
    /// A V3 token naming several mints is refused with `multipleMints`.
    public static func parse(_ text: String) throws(TokenError) -> Token {
        let tokens = try parseMultiMint(text)
        guard tokens.count == 1, let token = tokens.first else { throw .multipleMints }
        return token
    }

    /// Like `parse`, but returns one `Token` per mint of a multi-mint V3 token.
    public static func parseMultiMint(_ text: String) throws(TokenError) -> [Token] {
        var body = CashuText.trimmed(text)
        guard !body.isEmpty else { throw .empty }
        guard body.utf8.count <= maxEncodedLength else { throw .tooLong(limit: maxEncodedLength) }
        if body.prefix(6).lowercased() == "cashu:" { body = body.dropFirst(6) }
        guard body.hasPrefix("cashu") else { throw .notACashuToken }
        let rest = body.dropFirst(5)
        guard let version = rest.first else { throw .unsupportedVersion("") }
        let payload = rest.dropFirst()
        switch version {
        case "A":
            guard let json = Base64URL.decode(payload) else { throw .invalidBase64 }
            return try TokenV3.decode(json)
        case "B":
            guard let cbor = Base64URL.decode(payload) else { throw .invalidBase64 }
            return [try TokenV4.decode(cbor)]
        default:
            throw .unsupportedVersion(String(version))
        }
    }

    /// Reads the binary form `craw` ‖ `B` ‖ CBOR (NUT-00, e.g. over NFC).
    public static func parse(rawBytes: [UInt8]) throws(TokenError) -> Token {
        guard rawBytes.count <= maxEncodedLength else { throw .tooLong(limit: maxEncodedLength) }
        guard rawBytes.starts(with: rawPrefix) else { throw .notACashuToken }
        guard rawBytes.count > rawPrefix.count, rawBytes[rawPrefix.count] == UInt8(ascii: "B") else {
            throw .unsupportedVersion(rawBytes.count > rawPrefix.count ? String(UnicodeScalar(rawBytes[rawPrefix.count])) : "")
        }
        return try TokenV4.decode(Array(rawBytes[(rawPrefix.count + 1)...]))
    }

    private static let rawPrefix = Array("craw".utf8)
}

// MARK: - Writing

extension Token {
    /// `cashuB` + URL-safe base64 (no padding) of the V4 CBOR.
    public func serialized() -> String { "cashuB" + Base64URL.encode(TokenV4.encode(self)) }

    /// `craw` ‖ `B` ‖ V4 CBOR.
    public var rawBytes: [UInt8] { Token.rawPrefix + [UInt8(ascii: "B")] + TokenV4.encode(self) }
}

/// Text handling shared by the Cashu text formats (tokens, payment requests).
enum CashuText {
    /// Pasted tokens often carry spaces or line breaks around them.
    static func trimmed(_ text: String) -> Substring {
        var scalars = Substring(text).unicodeScalars[...]
        while let first = scalars.first, first.properties.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars = scalars.dropLast() }
        return Substring(scalars)
    }
}
