import SatmeterSupport

/// One upstream the gateway may send a request to: where it is, how to authenticate, which models
/// it serves and what it costs on top of the quoted price.
public struct Provider: Sendable {
    public var name: String
    /// Base URL ending in `/v1`; request paths after `/v1` are appended.
    public var baseURL: String
    /// From the environment or a file, never from the YAML (`api_key_env`, `api_key_file`).
    public var apiKey = ""
    /// Ids or globs of the models it serves; empty: any model.
    public var models: [ModelPattern] = []
    /// The provider's own name for a model ("gpt-4o" → "openai/gpt-4o"); such models are served too.
    public var modelNames: [String: String] = [:]
    /// Lower goes first; equal priorities keep the order written.
    public var priority = 0
    public var timeoutSeconds = 120
    public var connectTimeoutSeconds = 5
    public var streamIdleTimeoutSeconds = 120
    /// Sent with every request to this provider (after ours, before the client's forwarded ones).
    public var headers: [(String, String)] = []
    /// Multiplies the quoted price of a request this provider serves (parts per million, 1,000,000 = ×1).
    public var feePPM: Int64 = 1_000_000
    /// Serves Anthropic's `POST /v1/messages` (key in `x-api-key`).
    public var speaksMessages = false
    /// The order written in the config, the tie-breaker among equal priorities.
    public var index = 0

    public init(name: String, baseURL: String) {
        self.name = name
        self.baseURL = baseURL
    }

    public func serves(_ model: String) -> Bool {
        if modelNames[model] != nil { return true }
        return models.isEmpty || models.contains { $0.matches(model) }
    }

    /// The model id this provider expects for the client's (already de-aliased) model.
    public func upstreamModel(for model: String) -> String { modelNames[model] ?? model }

    /// Ours first (content type, identity encoding, the provider's key), then its extra headers.
    /// Anthropic's Messages API takes the key in `x-api-key` and needs a version (the client's, if it sent one).
    public func requestHeaders(contentType: String = "application/json", messagesAPI: Bool = false,
                               clientSetsVersion: Bool = false) -> [(String, String)] {
        var all = [("Content-Type", contentType), ("Accept-Encoding", "identity"), ("User-Agent", "satmeter/1")]
        if messagesAPI {
            if !apiKey.isEmpty { all.append(("x-api-key", apiKey)) }
            if !clientSetsVersion { all.append(("anthropic-version", "2023-06-01")) }
        } else if !apiKey.isEmpty {
            all.append(("Authorization", "Bearer \(apiKey)"))
        }
        return all + headers
    }

    /// A cost at this provider's fee, rounded up to the msat; saturates instead of trapping.
    public func applyingFee(_ msat: Int64) -> Int64 {
        guard feePPM != 1_000_000, msat > 0 else { return msat }
        let (product, overflow) = msat.multipliedReportingOverflow(by: feePPM)
        if overflow { return Int64.max }
        return product / 1_000_000 + (product % 1_000_000 == 0 ? 0 : 1)
    }
}
