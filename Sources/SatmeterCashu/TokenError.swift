import SatmeterSupport

/// Why a Cashu token could not be read. `description` is a sentence fit to show the client;
/// it never quotes secrets or signatures.
public enum TokenError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case tooLong(limit: Int)
    /// Does not start with `cashu` (after an optional `cashu:` URI prefix).
    case notACashuToken
    /// `cashu` followed by a version other than `A` (V3) or `B` (V4).
    case unsupportedVersion(String)
    case invalidBase64
    case invalidJSON(String)
    case invalidCBOR(String)
    case missingField(String)
    case invalidField(String, String)
    case noProofs
    /// A V3 token holding proofs from more than one mint; the gateway takes one mint per token.
    case multipleMints
    case amountOverflow

    public var description: String {
        switch self {
        case .empty: "the token is empty"
        case let .tooLong(limit): "the token is longer than \(limit) characters"
        case .notACashuToken: "not a Cashu token (expected it to start with cashuA or cashuB)"
        case let .unsupportedVersion(version): "unsupported token version '\(version)' (supported: cashuA, cashuB)"
        case .invalidBase64: "the token is not valid base64"
        case let .invalidJSON(why): "the token's JSON is invalid: \(why)"
        case let .invalidCBOR(why): "the token's CBOR is invalid: \(why)"
        case let .missingField(field): "the token has no '\(field)'"
        case let .invalidField(field, why): "the token's '\(field)' \(why)"
        case .noProofs: "the token holds no proofs"
        case .multipleMints: "the token holds proofs from several mints; send one token per mint"
        case .amountOverflow: "the token's amounts add up to more than fits in 64 bits"
        }
    }

    /// The same error with field names placed under `path`, so `amount` becomes `t[0].p[1].amount`.
    func at(_ path: String) -> TokenError {
        switch self {
        case let .missingField(field): .missingField("\(path).\(field)")
        case let .invalidField(field, why): .invalidField("\(path).\(field)", why)
        default: self
        }
    }
}

extension TokenError: FieldReporting {}
