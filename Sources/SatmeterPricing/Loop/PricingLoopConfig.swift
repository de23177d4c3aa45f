import Yams
import SatmeterSupport

/// `pricing.loop`: the thresholds of the pricing control loop (propose, canary, compare, promote).
/// Percentages are whole numbers; "points" are percentage points between two rates.
public struct PricingLoopConfig: Sendable, Equatable {
    /// Requests each cohort needs (and 402s, for conversion) before a comparison gives a verdict.
    public var minSamples: Int64 = 30
    /// A 402 counts as converted when the same client pays within this many seconds.
    public var conversionWindowSeconds: Int64 = 600
    /// Promotion is refused when the canary converts this many points below the control, or more.
    public var maxConversionDropPoints: Int64 = 10
    /// … or when its payment success is this many points below the control's, or more.
    public var maxPaymentSuccessDropPoints: Int64 = 5
    /// … or when more than this share of its upstream successes could not be settled.
    public var maxSettlementFailurePercent: Int64 = 2
    /// `propose` raises a price whose margin (after upstream cost) is below this.
    public var targetMarginPercent: Int64 = 20
    /// `propose` cuts a price whose 402s convert below this, while its margin stays above target.
    public var lowConversionPercent: Int64 = 50
    /// How many days `propose` reads by default.
    public var lookbackDays: Int64 = 30

    public init() {}

    static let keys = ["min_samples", "conversion_window_seconds", "max_conversion_drop_points", "max_payment_success_drop_points",
                       "max_settlement_failure_percent", "target_margin_percent", "low_conversion_percent", "lookback_days"]

    static func parse(_ node: Node, _ reader: YAMLReader) throws(ConfigError) -> PricingLoopConfig {
        let f = try reader.fields(node, "pricing.loop", allowed: keys)
        var loop = PricingLoopConfig()
        func read(_ key: String, _ range: ClosedRange<Int64>, _ into: inout Int64) throws(ConfigError) {
            if let n = f[key] { into = try reader.integer(n, "pricing.loop.\(key)", range) }
        }
        try read("min_samples", 1...1_000_000, &loop.minSamples)
        try read("conversion_window_seconds", 1...86_400 * 7, &loop.conversionWindowSeconds)
        try read("max_conversion_drop_points", 0...100, &loop.maxConversionDropPoints)
        try read("max_payment_success_drop_points", 0...100, &loop.maxPaymentSuccessDropPoints)
        try read("max_settlement_failure_percent", 0...100, &loop.maxSettlementFailurePercent)
        try read("target_margin_percent", 0...99, &loop.targetMarginPercent)
        try read("low_conversion_percent", 0...100, &loop.lowConversionPercent)
        try read("lookback_days", 1...365, &loop.lookbackDays)
        return loop
    }
}
