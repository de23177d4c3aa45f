/// A NUT-18 payment request: what a receiver asks for, encoded as `creqA` + base64url(CBOR).
/// The gateway sends one in its 402 replies so wallets know the amount, unit and accepted mints.
public struct PaymentRequest: Sendable, Equatable {
    /// `i`: payment id to echo in the payment.
    public var id: String?
    /// `a`
    public var amount: UInt64?
    /// `u`: required whenever `amount` is set.
    public var unit: String?
    /// `s`
    public var singleUse: Bool?
    /// `m`: mints the receiver accepts.
    public var mints: [String]?
    /// `d`: shown to the payer.
    public var description: String?
    /// `t`: how to deliver the payment; absent means in-band (e.g. the `X-Cashu` header).
    public var transports: [Transport]?
    /// `nut10`: the locking condition the payee requires.
    public var lock: LockingCondition?

    public struct Transport: Sendable, Equatable {
        /// `t`: `nostr` or `post`.
        public var type: String
        /// `a`: an nprofile or a URL.
        public var target: String
        /// `g`
        public var tags: [[String]]?

        public init(type: String, target: String, tags: [[String]]? = nil) {
            self.type = type
            self.target = target
            self.tags = tags
        }
    }

    /// NUT-10 kind, data and tags (e.g. kind `P2PK` with a public key).
    public struct LockingCondition: Sendable, Equatable {
        public var kind: String
        public var data: String
        public var tags: [[String]]?

        public init(kind: String, data: String, tags: [[String]]? = nil) {
            self.kind = kind
            self.data = data
            self.tags = tags
        }
    }

    public init(
        id: String? = nil, amount: UInt64? = nil, unit: String? = nil, singleUse: Bool? = nil, mints: [String]? = nil,
        description: String? = nil, transports: [Transport]? = nil, lock: LockingCondition? = nil
    ) {
        self.id = id
        self.amount = amount
        self.unit = unit
        self.singleUse = singleUse
        self.mints = mints
        self.description = description
        self.transports = transports
        self.lock = lock
    }
}

public enum PaymentRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooLong(limit: Int)
    /// Does not start with `creqA`.
    case notAPaymentRequest
    case invalidBase64
    case invalidCBOR(String)
    case missingField(String)
    case invalidField(String, String)

    public var description: String {
        switch self {
        case let .tooLong(limit): "the payment request is longer than \(limit) characters"
        case .notAPaymentRequest: "not a Cashu payment request (expected it to start with creqA)"
        case .invalidBase64: "the payment request is not valid base64"
        case let .invalidCBOR(why): "the payment request's CBOR is invalid: \(why)"
        case let .missingField(field): "the payment request has no '\(field)'"
        case let .invalidField(field, why): "the payment request's '\(field)' \(why)"
        }
    }
}

extension PaymentRequestError: FieldReporting {}

extension PaymentRequest {
    public static let maxEncodedLength = 100_000
    private static let prefix = "creqA"

    /// `creqA` + URL-safe base64 with padding: NUT-18 says URL-safe, and strict decoders (Python's) need the padding.
    /// The CBOR matches the NUT-18 vectors byte for byte; those happen to be written in the standard alphabet.
    public func encoded() -> String {
        PaymentRequest.prefix + Base64URL.encode(cbor.encoded, padded: true)
    }

    /// Keys in the order of the NUT-18 vectors: t, i, a, u, m, d, s, nut10. A transport without tags
    /// carries `g: undefined`, as the vectors do.
    var cbor: CBOR {
        var fields: [(String, CBOR)] = []
        if let transports {
            fields.append(("t", .array(transports.map { transport in
                .object([("t", .text(transport.type)), ("a", .text(transport.target)), ("g", transport.tags.map(PaymentRequest.tagsCBOR) ?? .undefined)])
            })))
        }
        if let id { fields.append(("i", .text(id))) }
        if let amount { fields.append(("a", .unsigned(amount))) }
        if let unit { fields.append(("u", .text(unit))) }
        if let mints { fields.append(("m", .array(mints.map(CBOR.text)))) }
        if let description { fields.append(("d", .text(description))) }
        if let singleUse { fields.append(("s", .bool(singleUse))) }
        if let lock {
            var nut10: [(String, CBOR)] = [("k", .text(lock.kind)), ("d", .text(lock.data))]
            if let tags = lock.tags { nut10.append(("t", PaymentRequest.tagsCBOR(tags))) }
            fields.append(("nut10", .object(nut10)))
        }
        return .object(fields)
    }

    private static func tagsCBOR(_ tags: [[String]]) -> CBOR {
        .array(tags.map { .array($0.map(CBOR.text)) })
    }

    /// Reads a `creqA` request; surrounding whitespace is allowed, padding optional, unknown fields ignored.
    public static func decode(_ text: String) throws(PaymentRequestError) -> PaymentRequest {
        let body = CashuText.trimmed(text)
        guard body.utf8.count <= maxEncodedLength else { throw .tooLong(limit: maxEncodedLength) }
        guard body.hasPrefix(prefix) else { throw .notAPaymentRequest }
        guard let bytes = Base64URL.decode(body.dropFirst(prefix.count)) else { throw .invalidBase64 }
        let cbor: CBOR
        do { cbor = try CBOR.decode(bytes) } catch { throw .invalidCBOR(error.description) }
        return try PaymentRequestError.reporting { try PaymentRequest(fields: DocumentFields(cbor, path: "")) }
    }

    private init(fields: DocumentFields<CBOR>) throws(FieldError) {
        var transports: [Transport]?
        if let items = try fields.optionalArray("t") {
            transports = []
            for (i, item) in items.enumerated() {
                let t = try DocumentFields(item, path: "t[\(i)]")
                transports?.append(Transport(type: try t.text("t"), target: try t.text("a"), tags: try t.optionalTags("g")))
            }
        }
        var lock: LockingCondition?
        if let nut10 = try fields.optionalObject("nut10") {
            lock = LockingCondition(kind: try nut10.text("k"), data: try nut10.text("d"), tags: try nut10.optionalTags("t"))
        }
        self.init(
            id: try fields.optionalText("i"), amount: try fields.optionalUnsigned("a"), unit: try fields.optionalText("u"),
            singleUse: try fields.optionalBool("s"), mints: try fields.optionalTextArray("m"),
            description: try fields.optionalText("d"), transports: transports, lock: lock)
    }
}
