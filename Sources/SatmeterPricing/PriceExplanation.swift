import SatmeterSupport

/// Everything behind one price: what `satmeter pricing explain` prints.
public struct PriceExplanation: Sendable {
    public var quote: PriceQuote
    public var usage: BilledUsage
    public var cost: CostBreakdown
    /// Unix seconds when explained (for the BTC price's age).
    public var now: Int64

    public var mode: PricingMode { quote.mode }
    public var source: PriceSource { quote.source }
    public var totalMsat: Int64 { cost.totalMsat }

    /// Every factor, in the order they apply.
    public var factors: [PriceFactor] {
        var out = quote.factors
        out.append(PriceFactor("selling price", quote.resolvedPrice))
        if let snapshot = quote.btcPrice, quote.price.currency == .usd {
            out.append(PriceFactor("BTC price", snapshot.describe(now: now)))
        }
        out.append(PriceFactor("rounding", "each line rounded up to the msat"))
        out.append(PriceFactor("base fee", "\(quote.baseFeeMsat) msat"))
        out.append(PriceFactor("minimum charge", "\(quote.minChargeMsat) msat"))
        return out
    }

    public func render() -> String {
        var rows: [(String, String)] = [
            ("model", quote.model.isEmpty ? "(none)" : quote.model),
            ("route", quote.route + (quote.upstream.map { " → upstream \($0)" } ?? "")),
        ]
        if let rule = quote.matchRule { rows.append(("match rule", rule)) }
        rows += [("mode", quote.mode.rawValue), ("source", "\(quote.source.rawValue): \(quote.sourceDetail)")]
        rows += factors.map { ($0.name, $0.value) }
        rows += [
            ("prompt", "\(usage.promptTokens) tokens = \(cost.promptMsat) msat"),
            ("completion", "\(usage.completionTokens) tokens = \(cost.completionMsat) msat"),
            ("request fee", "\(cost.requestFeeMsat) msat"),
        ]
        if cost.providerCostMsat > 0 { rows.append(("provider cost", "\(cost.providerCostMsat) msat (reported cost × fees, instead of the token lines)")) }
        if cost.imageMsat > 0 || usage.images > 0 { rows.append(("images", "\(usage.images) = \(cost.imageMsat) msat")) }
        if cost.audioMsat > 0 || usage.audioSeconds > 0 { rows.append(("audio", "\(usage.audioSeconds) s = \(cost.audioMsat) msat")) }
        if cost.minimumTopUpMsat > 0 { rows.append(("minimum top-up", "\(cost.minimumTopUpMsat) msat")) }
        rows += [
            ("total", "\(cost.totalMsat) msat (\(Sats.display(cost.totalMsat)) sat)"),
            ("reserve", "\(quote.maxCostMsat) msat for \(quote.reservedUsage.promptTokens) prompt + \(quote.reservedUsage.completionTokens) completion tokens"),
        ]
        rows += settlementRows
        if cost.upstreamCostMsat > 0 { rows.append(("operator cost", "\(cost.upstreamCostMsat) msat (upstream estimate, no fees)")) }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0 + ":" + String(repeating: " ", count: width - $0.0.count + 1) + $0.1 }.joined(separator: "\n") + "\n"
    }
}
