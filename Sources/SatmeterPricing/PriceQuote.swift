import SatmeterSupport

/// A price frozen before the upstream call: the reservation now, the actual cost later, both at
/// the same BTC price, so the settlement can never disagree with what was quoted.
public struct PriceQuote: Sendable {
    public var model: String
    public var mode: PricingMode
    public var source: PriceSource
    /// The route's upstream name (or the match rule's), if configured.
    public var upstream: String?
    /// What to reserve: never less than any `cost(for:)` with usage within `reservedUsage`.
    public var maxCostMsat: Int64
    /// Human and log form: "$2.63/$10.50 per 1M", "5 sat/1K", "10 sat/request".
    /// Computed when asked: formatting is not free, and most quotes never print it.
    public var resolvedPrice: String { price.summary }

    public var route: String
    /// Which entry priced it ("ft:gpt-4o:* (line 12)", "openai/gpt-4o (bundled table 2025-06)").
    public var sourceDetail: String
    /// "match[1] (line 14)" when a match rule applied.
    public var matchRule: String?
    /// The selling price.
    public var price: ModelPrice
    /// The usage `maxCostMsat` was computed for.
    public var reservedUsage: Usage
    /// How the price becomes msats: sats directly, USD at the BTC price below.
    public var conversion: MsatConversion
    /// The BTC price used (nil when the price is in sats and no BTC price was at hand).
    public var btcPrice: PriceSnapshot?
    public var baseFeeMsat: Int64
    public var minChargeMsat: Int64
    /// The operator's own cost (USD), when the catalog knows the model.
    public var upstreamCost: ModelPrice?
    var factors: [PriceFactor]

    /// The actual cost: each line rounded up to the msat, then the minimum charge.
    public func cost(for usage: Usage) -> CostBreakdown {
        var breakdown = CostBreakdown()
        let lines = Self.lines(price, usage, conversion)
        breakdown.promptMsat = lines.prompt
        breakdown.completionMsat = lines.completion
        breakdown.requestFeeMsat = WideMath.saturatingAdd(lines.request, baseFeeMsat)
        breakdown.imageMsat = lines.image
        breakdown.audioMsat = lines.audio
        let sum = [breakdown.promptMsat, breakdown.completionMsat, breakdown.requestFeeMsat, breakdown.imageMsat, breakdown.audioMsat]
            .reduce(0, WideMath.saturatingAdd)
        breakdown.minimumTopUpMsat = max(0, minChargeMsat - sum)
        breakdown.totalMsat = WideMath.saturatingAdd(sum, breakdown.minimumTopUpMsat)
        if let upstreamCost, let snapshot = btcPrice {
            let lines = Self.lines(upstreamCost, usage, snapshot.conversion)
            breakdown.upstreamCostMsat = [lines.prompt, lines.completion, lines.request, lines.image, lines.audio]
                .reduce(0, WideMath.saturatingAdd)
        }
        return breakdown
    }

    private static func lines(_ price: ModelPrice, _ usage: Usage, _ conversion: MsatConversion)
        -> (prompt: Int64, completion: Int64, request: Int64, image: Int64, audio: Int64)
    {
        func msat(_ units: Int, _ rate: Fixed18) -> Int64 { conversion.msat(units: Int64(max(0, units)), at: rate) }
        return (msat(usage.promptTokens, price.prompt), msat(usage.completionTokens, price.completion),
                msat(1, price.request), msat(usage.images, price.image), msat(usage.audioSeconds, price.audioSecond))
    }

    /// The fields each request's log record carries.
    public var logFields: [(String, JSON)] {
        [("pricing_mode", .string(mode.rawValue)), ("pricing_source", .string(source.rawValue)),
         ("resolved_price", .string(resolvedPrice)), ("max_cost_msat", .int(maxCostMsat))]
    }
}
