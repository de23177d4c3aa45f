import SatmeterLedger
import SatmeterSupport

/// The key's rate limits in the admin API: `requests_per_minute`, `tokens_per_minute`,
/// `concurrent_streams`, each a whole number or `null` (unlimited). Only the fields present change.
extension AdminKeysAPI {
    static let limitFields = ["requests_per_minute", "tokens_per_minute", "concurrent_streams"]

    /// `current` with the body's limit fields applied; nil when the body names none.
    static func limits(in body: JSON, over current: KeyLimits) throws(LedgerError) -> KeyLimits? {
        guard limitFields.contains(where: { body[$0] != nil }) else { return nil }
        var limits = current
        if let v = body["requests_per_minute"] { limits.requestsPerMinute = try optionalInt(v, "requests_per_minute") }
        if let v = body["tokens_per_minute"] { limits.tokensPerMinute = try optionalInt(v, "tokens_per_minute") }
        if let v = body["concurrent_streams"] { limits.concurrentStreams = try optionalInt(v, "concurrent_streams") }
        return try limits.checked()
    }
}

extension KeyLimits {
    /// As `KeyAdmin.describe` shows a key's limits (null: unlimited).
    var json: [(String, JSON)] {
        [("requests_per_minute", requestsPerMinute.map { .int($0) } ?? .null),
         ("tokens_per_minute", tokensPerMinute.map { .int($0) } ?? .null),
         ("concurrent_streams", concurrentStreams.map { .int($0) } ?? .null)]
    }
}
