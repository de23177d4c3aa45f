import Yams
import SatmeterSupport

/// Reads one price entry, the unit of every price in the config and in price-table files:
///
///     gpt-4o: { prompt_usd_per_1m: "2.50", completion_usd_per_1m: "10" }
///     budget: { sats_per_1k: 5 }
///     dall-e-3: { usd_per_image: "0.04" }
///
/// One entry uses one currency. Token prices are written per 1M (USD) or per 1K (sats).
struct PriceEntryParser {
    let reader: YAMLReader

    /// (key, currency, components it sets, decimal shift from the written unit to per unit).
    static let keys: [(String, Currency, [PriceComponent], Int)] = [
        ("prompt_usd_per_1m", .usd, [.prompt], 6),
        ("completion_usd_per_1m", .usd, [.completion], 6),
        ("usd_per_1m", .usd, [.prompt, .completion], 6),
        ("prompt_sats_per_1k", .sat, [.prompt], 3),
        ("completion_sats_per_1k", .sat, [.completion], 3),
        ("sats_per_1k", .sat, [.prompt, .completion], 3),
        ("usd_per_request", .usd, [.request], 0),
        ("sats_per_request", .sat, [.request], 0),
        ("usd_per_image", .usd, [.image], 0),
        ("sats_per_image", .sat, [.image], 0),
        ("usd_per_second", .usd, [.audioSecond], 0),
        ("sats_per_second", .sat, [.audioSecond], 0),
        // Token rates billed apart (cache reads and writes, reasoning, audio, image input).
        ("cached_prompt_usd_per_1m", .usd, [.cachedPrompt], 6),
        ("cached_prompt_sats_per_1k", .sat, [.cachedPrompt], 3),
        ("cache_write_usd_per_1m", .usd, [.cacheWrite], 6),
        ("cache_write_sats_per_1k", .sat, [.cacheWrite], 3),
        ("reasoning_usd_per_1m", .usd, [.reasoning], 6),
        ("reasoning_sats_per_1k", .sat, [.reasoning], 3),
        ("audio_prompt_usd_per_1m", .usd, [.audioPrompt], 6),
        ("audio_prompt_sats_per_1k", .sat, [.audioPrompt], 3),
        ("audio_completion_usd_per_1m", .usd, [.audioCompletion], 6),
        ("audio_completion_sats_per_1k", .sat, [.audioCompletion], 3),
        ("image_prompt_usd_per_1m", .usd, [.imagePrompt], 6),
        ("image_prompt_sats_per_1k", .sat, [.imagePrompt], 3),
    ]
    static let limitKeys = ["context_length", "max_completion_tokens"]
    static let allowed = keys.map(\.0) + limitKeys

    func parse(_ node: Node, _ what: String) throws(ConfigError) -> ModelPrice {
        if let scalar = node.scalar { return try perRequest(scalar.string, node, what) }
        let fields = try reader.fields(node, what, allowed: Self.allowed)
        var price: ModelPrice?
        for (key, currency, components, shift) in Self.keys {
            guard let value = fields[key] else { continue }
            if let price, price.currency != currency {
                throw reader.fail(value, "\(what) mixes USD and sats; write one entry in one currency")
            }
            var updated = price ?? ModelPrice(currency: currency)
            for component in components {
                updated[component] = try reader.amount(value, "\(what).\(key)", shift: shift,
                                                       max: PriceLimits.maxPerUnit(component, currency))
            }
            price = updated
        }
        guard var price else {
            throw reader.fail(node, "\(what) sets no price (use e.g. prompt_usd_per_1m, sats_per_1k or sats_per_request)")
        }
        if let node = fields["context_length"] {
            price.contextLength = Int(try reader.integer(node, "\(what).context_length", 1...PriceLimits.maxTokens))
        }
        if let node = fields["max_completion_tokens"] {
            price.maxCompletionTokens = Int(try reader.integer(node, "\(what).max_completion_tokens", 1...PriceLimits.maxTokens))
        }
        return price
    }

    /// The short form, a price per request: `"$0.05"` is USD, a plain number (`2`, `"0.5"`) sats.
    private func perRequest(_ text: String, _ node: Node, _ what: String) throws(ConfigError) -> ModelPrice {
        let currency: Currency = text.hasPrefix("$") ? .usd : .sat
        var price = ModelPrice(currency: currency)
        price[.request] = try reader.amount(node, what, shift: 0, max: PriceLimits.maxPerUnit(.request, currency))
        return price
    }

    /// A mapping of model ids or patterns to entries.
    func models(_ node: Node, _ what: String) throws(ConfigError) -> PatternMap<ModelPrice> {
        var map = PatternMap<ModelPrice>()
        for (key, keyNode, value) in try reader.fields(node, what).pairs {
            guard !key.allSatisfy({ $0 == "*" }) else {
                throw reader.fail(keyNode, "\(what): '\(key)' would match every model; use fallback instead")
            }
            map.set(key, try parse(value, "\(what).\(key)"), line: keyNode.mark?.line ?? 0)
        }
        return map
    }

    /// Writes a price back in the entry syntax (flow mapping), exactly: parse(write(p)) == p.
    static func write(_ price: ModelPrice) -> String {
        var parts: [String] = []
        for (key, currency, components, shift) in keys where components.count == 1 && currency == price.currency {
            let amount = price[components[0]]
            guard !amount.isZero, let shown = amount.timesPow10(shift) else { continue }
            parts.append("\(key): \"\(shown.decimalString())\"")
        }
        if parts.isEmpty { parts.append(price.currency == .usd ? "usd_per_request: \"0\"" : "sats_per_request: \"0\"") }
        if let n = price.contextLength { parts.append("context_length: \(n)") }
        if let n = price.maxCompletionTokens { parts.append("max_completion_tokens: \(n)") }
        return "{ " + parts.joined(separator: ", ") + " }"
    }
}
