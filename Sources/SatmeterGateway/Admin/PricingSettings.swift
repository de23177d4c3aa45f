import Yams
import SatmeterPricing
import SatmeterSupport

/// The global pricing settings an operator edits from the dashboard or `satmeter pricing settings`:
/// minimum charge, base fee, the two fees of dynamic prices, fixed per-token and per-request prices.
/// Kept in `<state>/pricing/settings.yaml` with the `pricing:` section's own keys, and read by the
/// same parser, so the same values are refused with the same words as in the config file.
public struct PricingSettings: Sendable, Equatable {
    public var minChargeMsat: Int64
    public var baseFeeMsat: Int64
    /// Multipliers as decimal text ("1.005").
    public var exchangeFee: String
    public var upstreamFee: String
    /// Sats per 1,000 tokens as decimal text; both "0" means off.
    public var fixedPromptSatsPer1K: String
    public var fixedCompletionSatsPer1K: String
    public var fixedPerRequestEnabled: Bool
    public var fixedPerRequestSats: String

    static let keys = ["min_charge_msat", "base_fee_msat", "exchange_fee", "upstream_fee", "fixed_per_token", "fixed_per_request"]

    /// The settings in force in `config`.
    public init(_ config: PricingConfig) {
        minChargeMsat = config.minChargeMsat
        baseFeeMsat = config.baseFeeMsat
        exchangeFee = Self.multiplier(config.exchangeFeePPM)
        upstreamFee = Self.multiplier(config.upstreamFeePPM)
        let perToken = config.fixedPerToken ?? ModelPrice(currency: .sat)
        fixedPromptSatsPer1K = (perToken.prompt.timesPow10(3) ?? .zero).decimalString()
        fixedCompletionSatsPer1K = (perToken.completion.timesPow10(3) ?? .zero).decimalString()
        fixedPerRequestEnabled = config.fixedPerRequest != nil
        fixedPerRequestSats = config.fixedPerRequest.map { $0.request.decimalString() } ?? "1"
    }

    /// These settings over `config`, validated as the config file's `pricing:` section is.
    public func applied(to config: PricingConfig, file: String = "pricing settings") throws(ConfigError) -> PricingConfig {
        try Self.apply(yaml: yaml(), file: file, to: config)
    }

    /// Reads a settings file over `config`; keys other than the settings' are refused.
    static func apply(yaml: String, file: String, to config: PricingConfig) throws(ConfigError) -> PricingConfig {
        let reader = YAMLReader(file: file)
        let node: Node?
        do { node = try Yams.compose(yaml: yaml) } catch { throw ConfigError(file: file, line: 0, reason: "not valid YAML: \(error)") }
        guard let node, node.null == nil else { return config }
        _ = try reader.fields(node, "pricing settings", allowed: keys)
        var out = config
        try PricingSectionParser(reader: reader).parse(node, into: &out)
        return out
    }

    /// The settings file. Every value is plain decimal text (checked by `decimal`), quoted.
    public func yaml() -> String {
        """
        # Pricing settings from the admin dashboard or `satmeter pricing settings`; they replace the
        # same keys of the configuration's pricing: section.
        min_charge_msat: \(minChargeMsat)
        base_fee_msat: \(baseFeeMsat)
        exchange_fee: "\(exchangeFee)"
        upstream_fee: "\(upstreamFee)"
        fixed_per_token: { prompt_sats_per_1k: "\(fixedPromptSatsPer1K)", completion_sats_per_1k: "\(fixedCompletionSatsPer1K)" }
        fixed_per_request: { enabled: \(fixedPerRequestEnabled), sats: "\(fixedPerRequestSats)" }

        """
    }

    public var json: JSON {
        [
            "min_charge_msat": .int(minChargeMsat), "base_fee_msat": .int(baseFeeMsat),
            "exchange_fee": .string(exchangeFee), "upstream_fee": .string(upstreamFee),
            "fixed_per_token": ["prompt_sats_per_1k": .string(fixedPromptSatsPer1K), "completion_sats_per_1k": .string(fixedCompletionSatsPer1K)],
            "fixed_per_request": ["enabled": .bool(fixedPerRequestEnabled), "sats": .string(fixedPerRequestSats)],
        ]
    }

    /// These settings with the fields `json` names replaced (the dashboard sends what changed).
    public func merging(_ json: JSON) throws(ConfigError) -> PricingSettings {
        var out = self
        func whole(_ value: JSON?, _ name: String) throws(ConfigError) -> Int64? {
            guard let value else { return nil }
            guard let n = value.int64Value ?? value.stringValue.flatMap({ Int64($0) }) else { throw Self.bad(name, "a whole number") }
            return n
        }
        func decimal(_ value: JSON?, _ name: String) throws(ConfigError) -> String? {
            guard let value else { return nil }
            let text: String
            switch value {
            case let .number(n): text = n
            case let .string(s): text = s.trimmingCharacters(in: [" "])
            default: throw Self.bad(name, "a decimal number")
            }
            guard Self.isPlainDecimal(text) else { throw Self.bad(name, "a decimal number such as 1.05") }
            return text
        }
        if let n = try whole(json["min_charge_msat"], "min_charge_msat") { out.minChargeMsat = n }
        if let n = try whole(json["base_fee_msat"], "base_fee_msat") { out.baseFeeMsat = n }
        if let t = try decimal(json["exchange_fee"], "exchange_fee") { out.exchangeFee = t }
        if let t = try decimal(json["upstream_fee"], "upstream_fee") { out.upstreamFee = t }
        if let t = try decimal(json["fixed_per_token"]?["prompt_sats_per_1k"], "fixed_per_token.prompt_sats_per_1k") { out.fixedPromptSatsPer1K = t }
        if let t = try decimal(json["fixed_per_token"]?["completion_sats_per_1k"], "fixed_per_token.completion_sats_per_1k") {
            out.fixedCompletionSatsPer1K = t
        }
        if let value = json["fixed_per_request"]?["enabled"] {
            guard let flag = value.boolValue else { throw Self.bad("fixed_per_request.enabled", "true or false") }
            out.fixedPerRequestEnabled = flag
        }
        if let t = try decimal(json["fixed_per_request"]?["sats"], "fixed_per_request.sats") { out.fixedPerRequestSats = t }
        return out
    }

    /// Digits with at most one decimal point: nothing else may reach the YAML file.
    static func isPlainDecimal(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return (1...2).contains(parts.count) && text.utf8.count <= 40
            && parts.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { (0x30...0x39).contains($0) } }
    }

    private static func bad(_ name: String, _ expected: String) -> ConfigError {
        ConfigError(file: "pricing settings", line: 0, reason: "\(name) must be \(expected)")
    }

    /// 1_050_000 ppm → "1.05".
    static func multiplier(_ ppm: Int64) -> String {
        Fixed18(raw: Int128(ppm) * 1_000_000_000_000).decimalString()
    }
}
