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
    /// The cohort this request belongs to ("control", or the match rule's conditions).
    public var cohort = PricingCohort.control
    /// The selling price.
    public var price: ModelPrice
    /// The usage `maxCostMsat` was computed for.
    public var reservedUsage: BilledUsage
    /// How the price becomes msats: sats directly, USD at the BTC price below.
    public var conversion: MsatConversion
    /// The BTC price used (nil when the price is in sats and no BTC price was at hand).
    public var btcPrice: PriceSnapshot?
    public var baseFeeMsat: Int64
    public var minChargeMsat: Int64
    /// The operator's own cost (USD), when the catalog knows the model.
    public var upstreamCost: ModelPrice?
    var factors: [PriceFactor]

    /// The dynamic markup (exchange fee, upstream fee, in ppm) that turns a provider-reported
    /// cost into a selling price; empty for prices the operator wrote, which are final.
    public var providerCostMarkupPPM: [Int64] = []
    /// Rates the price leaves unset, taken in the catalog's proportion (docs/pricing.md §3.1).
    public var derivedRates: ModelPrice?
    /// The route's settlement mode and, for after-response, what admission holds (`holdMsat`).
    public var settlement = RouteSettlement.reserve
    public var admissionMsat: Int64 = 0
    /// The flat-priced window covering this request, when a session product applies now.
    public var session: SessionQuote?

    /// The actual cost: each line rounded up to the msat, then the minimum charge. A dynamic
    /// price with a provider-reported cost charges that cost × the fees instead of the token lines.
    public func cost(for usage: BilledUsage) -> CostBreakdown {
        var breakdown = CostBreakdown()
        let lines = TokenLines(price: price, usage: usage, conversion: conversion, derived: derivedRates)
        if !providerCostMarkupPPM.isEmpty, let reported = usage.providerCost, conversion.currency == .usd,
           let marked = providerCostMarkupPPM.reduce(Optional(reported), { $0?.timesPPM($1) }) {
            breakdown.providerCostMsat = conversion.msat(units: 1, at: marked)
        } else {
            breakdown.promptMsat = lines.prompt
            breakdown.completionMsat = lines.completion
        }
        breakdown.requestFeeMsat = WideMath.saturatingAdd(lines.request, baseFeeMsat)
        breakdown.imageMsat = lines.image
        breakdown.audioMsat = lines.audio
        var sum = WideMath.saturatingAdd(breakdown.promptMsat, breakdown.completionMsat)
        sum = WideMath.saturatingAdd(sum, breakdown.requestFeeMsat)
        sum = WideMath.saturatingAdd(sum, breakdown.imageMsat)
        sum = WideMath.saturatingAdd(sum, breakdown.audioMsat)
        sum = WideMath.saturatingAdd(sum, breakdown.providerCostMsat)
        breakdown.minimumTopUpMsat = max(0, minChargeMsat - sum)
        breakdown.totalMsat = WideMath.saturatingAdd(sum, breakdown.minimumTopUpMsat)
        if let snapshot = btcPrice, let reported = usage.providerCost {
            breakdown.upstreamCostMsat = snapshot.conversion.msat(units: 1, at: reported)
        } else if let upstreamCost, let snapshot = btcPrice {
            breakdown.upstreamCostMsat = TokenLines(price: upstreamCost, usage: usage, conversion: snapshot.conversion).total
        }
        return breakdown
    }

    /// The most `usage` could cost at any of the rates it may be billed at: the reservation.
    /// Each special rate the operator set above the plain rate raises the bound; the defaults
    /// never do (cache writes aside, which the byte-count prompt bound covers many times over).
    func maximumCost(for usage: BilledUsage) -> CostBreakdown {
        var worst = self
        worst.providerCostMarkupPPM = []
        // Component by component, no arrays: this runs on every paid request.
        func raise(_ plain: PriceComponent, to special: PriceComponent) {
            if price[special] > worst.price[plain] { worst.price[plain] = price[special] }
        }
        raise(.prompt, to: .cachedPrompt)
        raise(.prompt, to: .cacheWrite)
        raise(.prompt, to: .audioPrompt)
        raise(.prompt, to: .imagePrompt)
        raise(.completion, to: .reasoning)
        raise(.completion, to: .audioCompletion)
        return worst.cost(for: BilledUsage(promptTokens: usage.promptTokens, completionTokens: usage.completionTokens,
                                     images: usage.images, audioSeconds: usage.audioSeconds))
    }

    /// The fields each request's log record carries.
    public var logFields: [(String, JSON)] {
        [("pricing_mode", .string(mode.rawValue)), ("pricing_source", .string(source.rawValue)),
         ("resolved_price", .string(resolvedPrice)), ("max_cost_msat", .int(maxCostMsat))]
    }
}
