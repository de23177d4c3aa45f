/// What a request presents to pay or to say whose balance it means, read from its headers in one
/// place. Whether the node accepts it (ecash on or off, the key known) is decided later.
///
/// - `X-Cashu: cashuB…` (NUT-24) pays for this one request; it wins over anything else;
/// - `Authorization: Bearer cashuA…/cashuB…`: a Cashu token used as an API key;
/// - `Authorization: Bearer sk-…` (the scheme in any case), or `X-Api-Key: sk-…` when there is
///   no `Authorization` header: an API key;
/// - anything else (no header, another scheme, an empty value): none.
enum Credential: Equatable {
    case apiKey(String)
    case cashuKey(String)
    case perRequestToken(String)
    case none

    init(authorization: String?, apiKey: String?, cashu: String?) {
        if let token = Self.value(cashu) {
            self = .perRequestToken(token)
        } else if let bearer = Self.bearer(authorization: authorization, apiKey: apiKey) {
            self = bearer.hasPrefix("cashu") ? .cashuKey(bearer) : .apiKey(bearer)
        } else {
            self = .none
        }
    }

    /// `perRequest: false` reads the key only, for endpoints that take no `X-Cashu` payment.
    init(_ io: any RequestIO, perRequest: Bool = true) {
        self.init(authorization: io.param("HTTP_AUTHORIZATION"), apiKey: io.param("HTTP_X_API_KEY"),
                  cashu: perRequest ? io.param("HTTP_X_CASHU") : nil)
    }

    /// The bearer value, whatever it is (an API key or a token used as one).
    var bearer: String? {
        switch self {
        case let .apiKey(value), let .cashuKey(value): value
        case .perRequestToken, .none: nil
        }
    }

    /// A Cashu token the request names its balance by: `X-Cashu`, or one used as the key.
    var token: String? {
        switch self {
        case let .perRequestToken(value), let .cashuKey(value): value
        case .apiKey, .none: nil
        }
    }

    /// `Bearer <value>`: one space-separated scheme, then the value with surrounding blanks
    /// dropped. A present `Authorization` of another scheme hides `X-Api-Key` (it was meant for
    /// something else, so it must not silently fall back).
    private static func bearer(authorization: String?, apiKey: String?) -> String? {
        guard let authorization else { return value(apiKey) }
        if let ascii = asciiBearer(authorization) { return ascii }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return value(String(parts[1]))
    }

    /// The same reading by byte for an all-ASCII header (what clients send), without the split
    /// array and the lower-cased copy: blanks before the scheme skipped, the scheme up to the next
    /// blank, the rest after it. Nil (take the general path) for any other header; `.some(nil)`
    /// when the header names no bearer value.
    static func asciiBearer(_ authorization: String) -> String?? {
        let utf8 = authorization.utf8
        guard utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        let space = UInt8(ascii: " ")
        guard let schemeStart = utf8.firstIndex(where: { $0 != space }),
              let schemeEnd = utf8[schemeStart...].firstIndex(of: space) else { return .some(nil) }
        let rest = utf8.index(after: schemeEnd)
        guard rest != utf8.endIndex, utf8[schemeStart..<schemeEnd].elementsEqual("bearer".utf8, by: { $0 | 0x20 == $1 }) else {
            return .some(nil)
        }
        return .some(value(String(authorization[rest...])))
    }

    /// A header value without surrounding blanks; nil when nothing is left.
    private static func value(_ text: String?) -> String? {
        guard let trimmed = text?.trimmingASCII(" \t"), !trimmed.isEmpty else { return nil }
        return trimmed
    }
}
