import Yams
import SatmeterSupport

/// A model family's hard price bounds (USD per token, prompt and completion), e.g. for "gpt-4o*".
/// Dynamic prices are clamped into them; `pricing apply` never moves a price outside them.
public struct PriceBounds: Sendable, Equatable {
    public var floor: ModelPrice?
    public var ceiling: ModelPrice?
    /// A multiplier (parts per million) on the family's dynamic prices, after the global fees.
    public var feePPM: Int64?

    public init(floor: ModelPrice? = nil, ceiling: ModelPrice? = nil, feePPM: Int64? = nil) {
        self.floor = floor
        self.ceiling = ceiling
        self.feePPM = feePPM
    }

    /// The bounded components: only prompt and completion have floors and ceilings.
    static let components: [PriceComponent] = [.prompt, .completion]
}

/// How far one `pricing apply` may move a price, in parts per million of the current price.
public struct UpdateBounds: Sendable, Equatable {
    public var maxIncreasePPM: Int64
    public var maxDecreasePPM: Int64

    public init(maxIncreasePPM: Int64 = 150_000, maxDecreasePPM: Int64 = 100_000) {
        self.maxIncreasePPM = maxIncreasePPM
        self.maxDecreasePPM = maxDecreasePPM
    }
}

/// The `pricing:` and `routes:` sections of the configuration, validated.
public struct PricingConfig: Sendable {
    /// Applied to the final cost of every request.
    public var minChargeMsat: Int64 = 1000
    /// Added to every token-priced request (not to flat prices).
    public var baseFeeMsat: Int64 = 0
    /// Dynamic prices: upstream cost × exchange fee × upstream fee (parts per million; 1,000,000 = ×1).
    public var exchangeFeePPM: Int64 = 1_005_000
    public var upstreamFeePPM: Int64 = 1_050_000
    /// Sats per token for every model (prompt, completion); nil when both are zero.
    public var fixedPerToken: ModelPrice?
    /// One flat sat price for every request; nil when disabled.
    public var fixedPerRequest: ModelPrice?
    /// Per-model prices for every route (`pricing.overrides`, plus an applied price table).
    public var overrides = PatternMap<ModelPrice>()
    /// Floors and ceilings per model family.
    public var families = PatternMap<PriceBounds>()
    /// Reserved when neither the request nor the model table bounds the completion.
    public var defaultMaxCompletionTokens = 4096
    /// Reserved on audio routes when the caller gives no duration.
    public var defaultMaxAudioSeconds = 600
    public var btcPrice = BTCPriceConfig()
    public var modelsSource = ModelsSourceConfig()
    public var updateBounds = UpdateBounds()
    /// Thresholds of the propose → canary → promote loop.
    public var loop = PricingLoopConfig()
    /// Multipliers (parts per million) on dynamic prices per upstream name (`pricing.provider_fees`).
    public var providerFeePPM: [String: Int64] = [:]
    public var routes = RouteTable()

    public init() {}

    /// Dynamic pricing from the bundled table, fees ×1.005 × 1.05, minimum 1000 msat, live BTC price.
    public static let defaults = PricingConfig()

    /// Installs a managed price table (from `pricing apply`) over the overrides: same ids are replaced.
    public func applyingManagedTable(_ table: PriceTable) -> PricingConfig {
        var config = self
        for entry in table.entries { config.overrides.set(entry.model, entry.price) }
        return config
    }

    public static func parse(pricing: Yams.Node?, routes: Yams.Node?, file: String) throws(ConfigError) -> PricingConfig {
        try parse(pricing: pricing, routes: routes, file: file, otherRouteKeys: [])
    }

    /// As above; `otherRouteKeys` are route settings other parts of the gateway read (e.g. "timeout"),
    /// accepted here instead of being refused as unknown.
    public static func parse(pricing: Yams.Node?, routes: Yams.Node?, file: String,
                             otherRouteKeys: [String]) throws(ConfigError) -> PricingConfig {
        let reader = YAMLReader(file: file)
        var config = PricingConfig()
        // An empty `pricing:` (YAML null) means the defaults.
        if let pricing, pricing.null == nil { try PricingSectionParser(reader: reader).parse(pricing, into: &config) }
        if let routes, routes.null == nil {
            config.routes = try RouteSectionParser(reader: reader, otherRouteKeys: otherRouteKeys).parse(routes)
        }
        return config
    }
}

/// What the config accepts; anything beyond is a typo or a misplaced decimal point.
enum PriceLimits {
    static func maxPerUnit(_ component: PriceComponent, _ currency: Currency) -> Fixed18 {
        switch (component, currency) {
        case (let token, .usd) where token.isTokenRate: Fixed18(raw: Fixed18.scale / 10)  // $100,000 per 1M
        case (let token, .sat) where token.isTokenRate: Fixed18(100)                   // 100,000 sat per 1K
        case (_, .usd): Fixed18(1_000)                                                 // $1,000 per request/image/s
        case (_, .sat): Fixed18(10_000_000)                                            // 0.1 BTC
        }
    }

    static let maxMsat: Int64 = 100_000_000
    static let maxTokens: Int64 = 100_000_000
}
