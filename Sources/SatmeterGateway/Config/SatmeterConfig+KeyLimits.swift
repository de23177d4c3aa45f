import SatmeterLedger
import SatmeterSupport
import Yams

/// `cashu.key_limits`: the rate limits given to every account minted from ecash (a Cashu token
/// used as the key, an `X-Cashu` payment, `/v1/wallet/create`, a Lightning-funded key), as the
/// operator gives them to a key with `keys create`. Absent: unlimited. The operator changes one
/// such key's limits later with `keys set-rate-limits`.
extension SatmeterConfig {
    static func keyLimits(_ node: Node, reader: ConfigReader) throws(ConfigError) -> KeyLimits {
        try reader.allowOnly(["requests_per_minute", "tokens_per_minute", "concurrent_streams"], in: node)
        func read(_ name: String, _ maximum: Int64) throws(ConfigError) -> Int64? {
            guard let value = node.mapping?[name], value.scalar?.string != "null" else { return nil }
            return Int64(try reader.int(value, in: 1...Int(maximum)))
        }
        return KeyLimits(requestsPerMinute: try read("requests_per_minute", KeyLimits.maxRequestsPerMinute),
                         tokensPerMinute: try read("tokens_per_minute", KeyLimits.maxTokensPerMinute),
                         concurrentStreams: try read("concurrent_streams", KeyLimits.maxConcurrentStreams))
    }
}
