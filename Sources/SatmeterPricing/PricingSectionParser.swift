import Yams
import SatmeterSupport

/// Reads the `pricing:` section into a `PricingConfig`; every error names its line.
package struct PricingSectionParser {
    let reader: YAMLReader
    var entries: PriceEntryParser { PriceEntryParser(reader: reader) }

    static let keys = [
        "min_charge_msat", "base_fee_msat", "exchange_fee", "upstream_fee", "fixed_per_token", "fixed_per_request",
        "overrides", "families", "default_max_completion_tokens", "default_max_audio_seconds", "btc_price",
        "models_source", "update_bounds", "loop", "provider_fees",
    ]

    package func parse(_ node: Node, into config: inout PricingConfig) throws(ConfigError) {
        let f = try reader.fields(node, "pricing", allowed: Self.keys)
        if let n = f["min_charge_msat"] { config.minChargeMsat = try reader.integer(n, "pricing.min_charge_msat", 0...PriceLimits.maxMsat) }
        if let n = f["base_fee_msat"] { config.baseFeeMsat = try reader.integer(n, "pricing.base_fee_msat", 0...PriceLimits.maxMsat) }
        // Fees below ×1 would sell under the upstream cost: refused, never a silent discount.
        if let n = f["exchange_fee"] {
            config.exchangeFeePPM = try reader.scaled(n, "pricing.exchange_fee", decimals: 6, 1_000_000...10_000_000, unit: " (a multiplier)")
        }
        if let n = f["upstream_fee"] {
            config.upstreamFeePPM = try reader.scaled(n, "pricing.upstream_fee", decimals: 6, 1_000_000...10_000_000, unit: " (a multiplier)")
        }
        if let n = f["fixed_per_token"] { config.fixedPerToken = try fixedPerToken(n) }
        if let n = f["fixed_per_request"] { config.fixedPerRequest = try fixedPerRequest(n) }
        if let n = f["overrides"] { config.overrides = try entries.models(n, "pricing.overrides") }
        if let n = f["families"] { config.families = try families(n) }
        if let n = f["default_max_completion_tokens"] {
            config.defaultMaxCompletionTokens = Int(try reader.integer(n, "pricing.default_max_completion_tokens", 1...PriceLimits.maxTokens))
        }
        if let n = f["default_max_audio_seconds"] {
            config.defaultMaxAudioSeconds = Int(try reader.integer(n, "pricing.default_max_audio_seconds", 1...86_400))
        }
        if let n = f["btc_price"] { config.btcPrice = try btcPrice(n) }
        if let n = f["models_source"] { config.modelsSource = try modelsSource(n) }
        if let n = f["update_bounds"] { config.updateBounds = try updateBounds(n) }
        if let n = f["loop"] { config.loop = try PricingLoopConfig.parse(n, reader) }
        if let n = f["provider_fees"] { config.providerFeePPM = try providerFees(n) }
    }

    private func fixedPerToken(_ node: Node) throws(ConfigError) -> ModelPrice? {
        let what = "pricing.fixed_per_token"
        let f = try reader.fields(node, what, allowed: ["prompt_sats_per_1k", "completion_sats_per_1k"])
        var price = ModelPrice(currency: .sat)
        for (key, component) in [("prompt_sats_per_1k", PriceComponent.prompt), ("completion_sats_per_1k", .completion)] {
            guard let n = f[key] else { continue }
            price[component] = try reader.amount(n, "\(what).\(key)", shift: 3, max: PriceLimits.maxPerUnit(component, .sat))
        }
        // Zero means "not in use", as operators are told.
        return price.isFree ? nil : price
    }

    private func fixedPerRequest(_ node: Node) throws(ConfigError) -> ModelPrice? {
        let what = "pricing.fixed_per_request"
        let f = try reader.fields(node, what, allowed: ["enabled", "sats"])
        let enabled = try f["enabled"].map { n throws(ConfigError) in try reader.bool(n, "\(what).enabled") } ?? false
        guard let n = f["sats"] else {
            if enabled { throw reader.fail(node, "\(what) is enabled but sets no sats") }
            return nil
        }
        let sats = try reader.amount(n, "\(what).sats", shift: 0, max: PriceLimits.maxPerUnit(.request, .sat))
        return enabled ? ModelPrice(currency: .sat, request: sats) : nil
    }

    private func families(_ node: Node) throws(ConfigError) -> PatternMap<PriceBounds> {
        var map = PatternMap<PriceBounds>()
        for (key, keyNode, value) in try reader.fields(node, "pricing.families").pairs {
            let what = "pricing.families.\(key)"
            let f = try reader.fields(value, what, allowed: ["floor", "ceiling", "fee"])
            var bounds = PriceBounds()
            bounds.feePPM = try f["fee"].map { n throws(ConfigError) in try multiplier(n, "\(what).fee") }
            bounds.floor = try f["floor"].map { n throws(ConfigError) in try usdBound(n, "\(what).floor") }
            bounds.ceiling = try f["ceiling"].map { n throws(ConfigError) in try usdBound(n, "\(what).ceiling") }
            if let floor = bounds.floor, let ceiling = bounds.ceiling,
               PriceBounds.components.contains(where: { floor[$0] > ceiling[$0] }) {
                throw reader.fail(value, "\(what): the floor is above the ceiling")
            }
            map.set(key, bounds, line: keyNode.mark?.line ?? 0)
        }
        return map
    }

    private func usdBound(_ node: Node, _ what: String) throws(ConfigError) -> ModelPrice {
        let f = try reader.fields(node, what, allowed: ["prompt_usd_per_1m", "completion_usd_per_1m"])
        var price = ModelPrice(currency: .usd)
        for (key, component) in [("prompt_usd_per_1m", PriceComponent.prompt), ("completion_usd_per_1m", .completion)] {
            guard let n = f[key] else { throw reader.fail(node, "\(what) needs \(key)") }
            price[component] = try reader.amount(n, "\(what).\(key)", shift: 6, max: PriceLimits.maxPerUnit(component, .usd))
        }
        return price
    }

    private func btcPrice(_ node: Node) throws(ConfigError) -> BTCPriceConfig {
        let what = "pricing.btc_price"
        let f = try reader.fields(node, what, allowed: [
            "usd_per_btc", "sources", "refresh_seconds", "retry_seconds", "max_age_seconds", "timeout_seconds",
        ])
        var config = BTCPriceConfig()
        if let n = f["usd_per_btc"] {
            config.fixedCentsPerBTC = try reader.scaled(n, "\(what).usd_per_btc", decimals: 2, 1...100_000_000_000, unit: " USD")
        }
        if let n = f["sources"] { config.sources = try sources(n, "\(what).sources") }
        if let n = f["refresh_seconds"] { config.refreshSeconds = try reader.integer(n, "\(what).refresh_seconds", 1...86_400) }
        if let n = f["retry_seconds"] { config.retrySeconds = try reader.integer(n, "\(what).retry_seconds", 1...86_400) }
        if let n = f["max_age_seconds"] { config.maxAgeSeconds = try reader.integer(n, "\(what).max_age_seconds", 1...604_800) }
        if let n = f["timeout_seconds"] { config.timeoutSeconds = Double(try reader.integer(n, "\(what).timeout_seconds", 1...300)) }
        if config.maxAgeSeconds < config.refreshSeconds {
            throw reader.fail(f["max_age_seconds"] ?? node, "\(what).max_age_seconds must be at least refresh_seconds")
        }
        if config.fixedCentsPerBTC == nil, config.sources.isEmpty {
            throw reader.fail(node, "\(what) has no sources and no usd_per_btc: USD prices could never be converted")
        }
        return config
    }

    private func sources(_ node: Node, _ what: String) throws(ConfigError) -> [BTCPriceConfig.Source] {
        var out: [BTCPriceConfig.Source] = []
        for item in try reader.list(node, what) {
            let f = try reader.fields(item, "each of \(what)", allowed: ["url", "shape"])
            guard let urlNode = f["url"], let shapeNode = f["shape"] else { throw reader.fail(item, "each of \(what) needs url and shape") }
            let url = try reader.string(urlNode, "\(what).url")
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw reader.fail(urlNode, "\(what).url must be http(s)") }
            let shapeText = try reader.string(shapeNode, "\(what).shape")
            guard let shape = BTCPriceShape(rawValue: shapeText) else {
                let known = BTCPriceShape.allCases.map(\.rawValue).joined(separator: ", ")
                throw reader.fail(shapeNode, "\(what).shape '\(shapeText)' is not one of: \(known)")
            }
            out.append(.init(url: url, shape: shape))
        }
        return out
    }

    private func modelsSource(_ node: Node) throws(ConfigError) -> ModelsSourceConfig {
        let what = "pricing.models_source"
        let f = try reader.fields(node, what, allowed: ["url", "refresh_seconds", "timeout_seconds"])
        var config = ModelsSourceConfig()
        if let n = f["url"] { config.url = try reader.string(n, "\(what).url") }
        if let n = f["refresh_seconds"] { config.refreshSeconds = try reader.integer(n, "\(what).refresh_seconds", 60...604_800) }
        if let n = f["timeout_seconds"] { config.timeoutSeconds = Double(try reader.integer(n, "\(what).timeout_seconds", 1...300)) }
        return config
    }

    private func updateBounds(_ node: Node) throws(ConfigError) -> UpdateBounds {
        let what = "pricing.update_bounds"
        let f = try reader.fields(node, what, allowed: ["max_increase_percent", "max_decrease_percent"])
        var bounds = UpdateBounds()
        // Percent with up to 4 decimals is a whole number of parts per million.
        if let n = f["max_increase_percent"] {
            bounds.maxIncreasePPM = try reader.scaled(n, "\(what).max_increase_percent", decimals: 4, 0...10_000_000, unit: " %")
        }
        if let n = f["max_decrease_percent"] {
            bounds.maxDecreasePPM = try reader.scaled(n, "\(what).max_decrease_percent", decimals: 4, 0...1_000_000, unit: " %")
        }
        return bounds
    }

    package init(reader: YAMLReader) {
        self.reader = reader
    }
}
