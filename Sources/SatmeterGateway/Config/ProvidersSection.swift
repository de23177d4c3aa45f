import Yams
import SatmeterSupport
import SatmeterUpstream

/// A configured provider and where its API key comes from (resolved against the environment at load).
public struct ProviderSpec: Sendable {
    public var provider: Provider
    public var apiKeyEnv: String?
    public var apiKeyFile: String?
    /// The config line, for errors found when the key is resolved.
    public var line: Int
}

/// The `providers:`, `model_aliases:` and `circuit_breaker:` sections:
///
///     providers:
///       - name: openai
///         base_url: https://api.openai.com/v1
///         api_key_env: OPENAI_API_KEY        # or api_key_file: /etc/satmeter/openai.key
///         models: [gpt-4o, "gpt-4o-*"]        # ids or globs; omitted: any model
///         model_names: { gpt-4o: openai/gpt-4o }
///         priority: 1                          # lower first
///         timeout_seconds: 120
///         stream_idle_timeout_seconds: 120
///         headers: { HTTP-Referer: https://example.com }
///         fee: 1.10                            # × the quoted price for requests it serves
///         messages_api: true                   # also serves Anthropic's /v1/messages
///     model_aliases: { gpt4: gpt-4o }
///     circuit_breaker: { failures: 2, cooldown_seconds: 30 }
struct ProvidersSection {
    let reader: ConfigReader

    static let providerKeys: Set<String> = [
        "name", "base_url", "api_key_env", "api_key_file", "models", "model_names", "priority", "timeout_seconds",
        "connect_timeout_seconds", "stream_idle_timeout_seconds", "headers", "fee", "messages_api",
    ]

    func providers(_ node: Node) throws(ConfigError) -> [ProviderSpec] {
        guard let items = node.sequence else { throw reader.error(node, "providers must be a list") }
        var specs: [ProviderSpec] = []
        for (index, item) in items.enumerated() {
            let spec = try provider(item, index: index)
            if specs.contains(where: { $0.provider.name == spec.provider.name }) {
                throw reader.error(item, "provider '\(spec.provider.name)' is listed twice")
            }
            specs.append(spec)
        }
        return specs
    }

    private func provider(_ node: Node, index: Int) throws(ConfigError) -> ProviderSpec {
        if node.mapping?["api_key"] != nil {
            throw reader.error(node, "a provider's api_key does not belong in the YAML file: use api_key_env or api_key_file")
        }
        try reader.allowOnly(Self.providerKeys, in: node)
        guard let map = node.mapping, let nameNode = map["name"], let urlNode = map["base_url"] else {
            throw reader.error(node, "each provider needs a name and a base_url")
        }
        let name = try reader.string(nameNode)
        guard !name.isEmpty, name.utf8.count <= 64, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw reader.error(nameNode, "a provider name is 1 to 64 letters, digits, '-', '_' or '.'")
        }
        var provider = Provider(name: name, baseURL: try reader.url(urlNode))
        while provider.baseURL.hasSuffix("/") { provider.baseURL.removeLast() }
        provider.index = index
        if let n = map["models"] {
            guard let list = n.sequence else { throw reader.error(n, "models must be a list of ids or patterns") }
            provider.models = try list.map { item throws(ConfigError) in ModelPattern(try reader.string(item)) }
        }
        if let n = map["model_names"] { provider.modelNames = try stringMap(n) }
        if let n = map["priority"] { provider.priority = try reader.int(n, in: -1000...1000) }
        if let n = map["timeout_seconds"] { provider.timeoutSeconds = try reader.int(n, in: 1...3600) }
        if let n = map["connect_timeout_seconds"] { provider.connectTimeoutSeconds = try reader.int(n, in: 1...300) }
        if let n = map["stream_idle_timeout_seconds"] { provider.streamIdleTimeoutSeconds = try reader.int(n, in: 1...3600) }
        if let n = map["headers"] {
            provider.headers = try stringMap(n).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            if let bad = provider.headers.first(where: { !Self.isHeaderName($0.0) || $0.1.contains(where: \.isNewline) }) {
                throw reader.error(n, "header '\(bad.0)' is not a valid header name and value")
            }
        }
        if let n = map["fee"] { provider.feePPM = try fee(n) }
        if let n = map["messages_api"] {
            guard let flag = n.bool else { throw reader.error(n, "messages_api must be true or false") }
            provider.speaksMessages = flag
        }
        var spec = ProviderSpec(provider: provider, line: node.mark?.line ?? 0)
        if let n = map["api_key_env"] { spec.apiKeyEnv = try reader.string(n) }
        if let n = map["api_key_file"] { spec.apiKeyFile = try reader.string(n) }
        return spec
    }

    func aliases(_ node: Node) throws(ConfigError) -> [String: String] {
        let map = try stringMap(node)
        if let chained = map.first(where: { map[$0.value] != nil }) {
            throw reader.error(node, "alias '\(chained.key)' points at another alias '\(chained.value)'")
        }
        return map
    }

    func breaker(_ node: Node) throws(ConfigError) -> CircuitBreaker.Settings {
        try reader.allowOnly(["failures", "cooldown_seconds"], in: node)
        var settings = CircuitBreaker.Settings()
        if let n = node.mapping?["failures"] { settings.threshold = try reader.int(n, in: 1...1000) }
        if let n = node.mapping?["cooldown_seconds"] { settings.cooldownMillis = Int64(try reader.int(n, in: 1...86_400)) * 1000 }
        return settings
    }

    private func stringMap(_ node: Node) throws(ConfigError) -> [String: String] {
        guard let mapping = node.mapping else { throw reader.error(node, "expected a mapping") }
        var out: [String: String] = [:]
        for (key, value) in mapping { out[try reader.string(key)] = try reader.string(value) }
        return out
    }

    /// A multiplier from 1 to 10 with at most 6 decimals, as parts per million (no floating point).
    private func fee(_ node: Node) throws(ConfigError) -> Int64 {
        let text = try reader.string(node)
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let fraction = parts.count == 2 ? String(parts[1]) : ""
        guard let whole = Int64(parts[0]), parts[0].allSatisfy(\.isNumber), fraction.count <= 6, fraction.allSatisfy(\.isNumber),
              let decimals = Int64(fraction.padding(toLength: 6, withPad: "0", startingAt: 0)), whole <= 10
        else { throw reader.error(node, "fee must be a multiplier such as 1.10 (at most 6 decimals)") }
        let ppm = whole * 1_000_000 + decimals
        guard (1_000_000...10_000_000).contains(ppm) else {
            throw reader.error(node, "fee must be from 1 to 10: below 1 would sell under the quoted price")
        }
        return ppm
    }

    static func isHeaderName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") }
    }
}

extension SatmeterConfig {
    /// The providers requests go to: the configured list, or `upstream:` as the one `default`.
    public var effectiveProviders: [Provider] {
        if !providers.isEmpty { return providers.map(\.provider) }
        var single = Provider(name: "default", baseURL: upstream.baseURL)
        while single.baseURL.hasSuffix("/") { single.baseURL.removeLast() }
        single.apiKey = upstream.apiKey
        single.timeoutSeconds = upstream.timeoutSeconds
        single.streamIdleTimeoutSeconds = upstream.streamIdleTimeoutSeconds
        return [single]
    }

    /// Reads each provider's key from its environment variable or file; a missing one is an error.
    mutating func resolveProviderKeys(environment env: [String: String]) throws(ConfigError) {
        for index in providers.indices {
            let spec = providers[index]
            if let name = spec.apiKeyEnv {
                guard let value = env[name], !value.isEmpty else {
                    throw ConfigError(file: name, line: 0, reason: "provider '\(spec.provider.name)': environment variable \(name) is not set")
                }
                providers[index].provider.apiKey = value
            } else if let path = spec.apiKeyFile {
                guard let text = TextFile.read(path) else {
                    throw ConfigError(file: path, line: 0, reason: "provider '\(spec.provider.name)': cannot read its api_key_file")
                }
                providers[index].provider.apiKey = text.trimmingCharacters(in: [" ", "\n", "\r", "\t"])
            }
        }
    }

    /// Route and match rules' `upstream:` must name a provider, once providers are listed.
    func checkRouteUpstreams(file: String) throws(ConfigError) {
        guard !providers.isEmpty else { return }
        let names = Set(providers.map(\.provider.name))
        for route in pricing.routes.routes.entries.map(\.value) {
            for (upstream, line) in [(route.upstream, route.line)] + route.match.map({ ($0.upstream, $0.line) }) {
                if let upstream, !names.contains(upstream) {
                    throw ConfigError(file: file, line: line, reason: "upstream '\(upstream)' of route '\(route.key)' is not one of the providers")
                }
            }
        }
    }
}
