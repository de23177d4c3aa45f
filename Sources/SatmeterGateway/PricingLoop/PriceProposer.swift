import SatmeterLedger
import SatmeterPricing
import SatmeterSupport

/// `satmeter pricing propose`: from the last days of the request log and the upstream costs in
/// force, a proposed price per model, with the reason. Pure: the caller bounds it (the same
/// bounded step as every other price change) and writes it.
///
/// Per model with traffic, in this order, the first rule that fires decides:
/// 1. the upstream cost now (provider list or bundled table) leaves less than the target margin at
///    the current price: raise each component to cost ÷ (1 − target);
/// 2. the measured margin (revenue against upstream cost of settled requests) is below target:
///    scale the price so the same usage would earn the target margin;
/// 3. 402s convert below `low_conversion_percent` while the margin is 10+ points above target:
///    cut toward the target-margin price;
/// otherwise keep. Dynamic prices are left alone: their margin is set by the fees.
public struct PriceProposer {
    public struct Input: Sendable {
        public var model: String
        /// The price a control request is charged now, and where it comes from.
        public var price: ModelPrice
        public var source: PriceSource
        /// The upstream cost (USD) the catalog has now, if any; and whether the provider list gave it.
        public var upstreamCost: ModelPrice?
        public var costFromProviderList: Bool
        public var activity: ReportStore.ModelActivity

        public init(model: String, price: ModelPrice, source: PriceSource, upstreamCost: ModelPrice?, costFromProviderList: Bool,
                    activity: ReportStore.ModelActivity) {
            self.model = model
            self.price = price
            self.source = source
            self.upstreamCost = upstreamCost
            self.costFromProviderList = costFromProviderList
            self.activity = activity
        }
    }

    public struct Decision: Sendable, Equatable {
        public var model: String
        /// nil: keep the price in force.
        public var proposed: ModelPrice?
        public var reason: String
    }

    public let loop: PricingLoopConfig
    public let days: Int64

    public init(loop: PricingLoopConfig, days: Int64) {
        self.loop = loop
        self.days = days
    }

    public func decide(_ input: Input) -> Decision {
        var decision = rawDecision(input)
        decision.proposed = decision.proposed?.roundedUpToReadable()
        return decision
    }

    private func rawDecision(_ input: Input) -> Decision {
        let a = input.activity
        let target = loop.targetMarginPercent
        let seen = "\(a.settled) paid, \(a.paymentRequired) 402s in \(days) days"
        guard input.source != .defaultTable, input.source != .fixed else {
            return Decision(model: input.model, proposed: nil, reason: "keep: priced \(input.source == .fixed ? "by a fixed rule" : "dynamically (the fees set its margin)"); \(seen)")
        }
        if let cost = input.upstreamCost, input.price.currency == .usd, let floor = cost.timesRatio(100, 100 - target, roundUp: true) {
            var raised = input.price
            var below: [String] = []
            for component in PriceComponent.allCases where !cost[component].isZero && raised[component] < floor[component] {
                raised[component] = floor[component]
                below.append(component.rawValue)
            }
            if !below.isEmpty {
                let origin = input.costFromProviderList ? "provider list" : "bundled table"
                return Decision(model: input.model, proposed: raised,
                                reason: "raise: upstream cost now \(cost.summary) (\(origin)) leaves less than the \(target)% target margin on \(below.joined(separator: ", ")); \(seen)")
            }
        }
        guard a.settled >= loop.minSamples, a.revenueMsat > 0 else {
            return Decision(model: input.model, proposed: nil, reason: "keep: too few paid requests to measure (\(seen); need \(loop.minSamples))")
        }
        let margin = (a.revenueMsat - a.upstreamCostMsat) * 100 / a.revenueMsat
        // The price at which this usage would have earned exactly the target margin.
        let targetRevenue = a.upstreamCostMsat.multipliedReportingOverflow(by: 100).partialValue / (100 - target)
        if margin < target {
            return Decision(model: input.model, proposed: input.price.timesRatio(targetRevenue, a.revenueMsat, roundUp: true),
                            reason: "raise: measured margin \(margin)% below the \(target)% target; \(seen)")
        }
        if a.paymentRequired >= loop.minSamples {
            let conversion = a.converted * 100 / a.paymentRequired
            if conversion < loop.lowConversionPercent, margin >= target + 10, targetRevenue > 0 {
                return Decision(model: input.model, proposed: input.price.timesRatio(targetRevenue, a.revenueMsat, roundUp: true),
                                reason: "cut: 402 → paid conversion \(conversion)% below \(loop.lowConversionPercent)% while the margin is \(margin)%; \(seen)")
            }
        }
        return Decision(model: input.model, proposed: nil, reason: "keep: margin \(margin)%, within target; \(seen)")
    }
}

extension ModelPrice {
    /// Rounded up to $0.0001 per 1M tokens or 0.001 sat per 1K, so a proposal reads well.
    func roundedUpToReadable() -> ModelPrice {
        let step: Int128 = currency == .usd ? 100_000_000 : 1_000_000_000_000
        var out = self
        for component in PriceComponent.allCases {
            let raw = self[component].raw
            out[component] = Fixed18(raw: (raw + step - 1) / step * step)
        }
        return out
    }

    /// Every component × numerator ÷ denominator; nil on overflow or a zero denominator.
    func timesRatio(_ numerator: Int64, _ denominator: Int64, roundUp: Bool) -> ModelPrice? {
        guard denominator > 0, numerator >= 0 else { return nil }
        var out = self
        for component in PriceComponent.allCases {
            let (product, overflow) = self[component].raw.multipliedReportingOverflow(by: Int128(numerator))
            guard !overflow else { return nil }
            let d = Int128(denominator)
            out[component] = Fixed18(raw: roundUp ? (product + d - 1) / d : product / d)
        }
        return out
    }
}
