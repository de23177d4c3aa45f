import SatmeterLedger
import SatmeterPricing
import SatmeterSupport

/// Canary against control on one route: the counters of every cohort, margin per model, and a
/// plain verdict per canary. Rates are tenths of a percent (integers), so verdicts are exact.
public struct CohortComparison: Sendable {
    public typealias Counters = ReportStore.CohortCounters
    public var route: String
    public var since: Int64
    public var until: Int64
    public var cohorts: [Counters]
    public var models: [ReportStore.CohortModelRow]
    public var loop: PricingLoopConfig

    public init(ledger: Ledger, route: String, since: Int64, until: Int64, loop: PricingLoopConfig) throws(LedgerError) {
        self.route = route
        self.since = since
        self.until = until
        self.loop = loop
        cohorts = try ledger.reports.cohortCounters(route: route, since: since, until: until, windowSeconds: loop.conversionWindowSeconds)
        models = try ledger.reports.cohortModels(route: route, since: since, until: until)
    }

    public var control: Counters? { cohorts.first { $0.cohort == PricingCohort.control } }

    /// One canary's verdict against the control: what passed, what failed, what could not be measured.
    public struct Verdict: Sendable, Equatable {
        public var cohort: String
        /// Every check measured and passed.
        public var passed: Bool
        public var tooFewSamples: Bool
        public var lines: [String]

        /// "pass", "fail" or "too few samples".
        public var word: String { passed ? "pass" : tooFewSamples ? "too few samples" : "fail" }
    }

    public func verdict(for cohort: String) -> Verdict {
        let canary = cohorts.first { $0.cohort == cohort } ?? Counters(cohort: cohort)
        return Self.judge(canary: canary, control: control ?? Counters(cohort: PricingCohort.control), loop)
    }

    public var verdicts: [Verdict] {
        // Records from before cohorts were logged ("(none)") are no canary.
        cohorts.filter { $0.cohort != PricingCohort.control && $0.cohort != "(none)" }.map { Self.judge(canary: $0, control: control ?? Counters(cohort: PricingCohort.control), loop) }
    }

    /// The promotion checks: enough samples, conversion, payment success, settlement failures.
    public static func judge(canary: Counters, control: Counters, _ loop: PricingLoopConfig) -> Verdict {
        var lines: [String] = []
        var failed = false
        var tooFew = false
        let need = loop.minSamples
        if canary.requests < need || control.requests < need {
            tooFew = true
            lines.append("too few requests to compare: canary \(canary.requests), control \(control.requests) (need \(need) each)")
        }
        if canary.paymentRequired < need || control.paymentRequired < need {
            tooFew = true
            lines.append("too few 402s to compare conversion: canary \(canary.paymentRequired), control \(control.paymentRequired) (need \(need) each)")
        } else {
            let a = tenths(canary.converted, canary.paymentRequired), b = tenths(control.converted, control.paymentRequired)
            let drop = b - a
            let ok = drop < loop.maxConversionDropPoints * 10
            failed = failed || !ok
            lines.append("conversion \(show(a)) vs control \(show(b)) (\(points(a - b))); \(ok ? "ok" : "fails: at most -\(loop.maxConversionDropPoints) points")")
        }
        if canary.paymentAttempts > 0, control.paymentAttempts > 0 {
            let a = tenths(canary.settled, canary.paymentAttempts), b = tenths(control.settled, control.paymentAttempts)
            let ok = b - a < loop.maxPaymentSuccessDropPoints * 10
            failed = failed || !ok
            lines.append("payment success \(show(a)) vs control \(show(b)) (\(points(a - b))); \(ok ? "ok" : "fails: at most -\(loop.maxPaymentSuccessDropPoints) points")")
        }
        let settleable = canary.settled + canary.settlementFailures
        if settleable > 0 {
            let rate = tenths(canary.settlementFailures, settleable)
            let ok = rate <= loop.maxSettlementFailurePercent * 10
            failed = failed || !ok
            lines.append("settlement failures \(show(rate)) of \(settleable); \(ok ? "ok" : "fails: at most \(loop.maxSettlementFailurePercent)%")")
        }
        if canary.upstreamCalls > 0, control.upstreamCalls > 0 {
            lines.append("upstream success \(show(tenths(canary.upstreamOK, canary.upstreamCalls))) vs control \(show(tenths(control.upstreamOK, control.upstreamCalls)))")
        }
        if canary.settled > 0, control.settled > 0 {
            lines.append("margin per request \(canary.marginMsat / canary.settled) msat vs control \(control.marginMsat / control.settled) msat")
        }
        return Verdict(cohort: canary.cohort, passed: !failed && !tooFew, tooFewSamples: tooFew, lines: lines)
    }

    /// a / b in tenths of a percent, rounded half up; 0 when b is 0.
    static func tenths(_ a: Int64, _ b: Int64) -> Int64 {
        b > 0 ? (a.multipliedReportingOverflow(by: 1000).partialValue + b / 2) / b : 0
    }

    static func show(_ tenths: Int64) -> String {
        "\(tenths < 0 ? "-" : "")\(abs(tenths) / 10).\(abs(tenths) % 10)%"
    }

    static func points(_ tenths: Int64) -> String {
        "\(tenths < 0 ? "-" : "+")\(abs(tenths) / 10).\(abs(tenths) % 10) points"
    }

    // MARK: Report tables

    public var tables: [ReportCatalog.Table] {
        let pct = ReportCatalog.percent
        let cohortRows: [[JSON]] = cohorts.map { c in
            [.string(c.cohort), .int(c.requests), .int(c.paymentRequired), .int(c.converted), pct(c.converted, c.paymentRequired),
             .int(c.paymentAttempts), .int(c.settled), pct(c.settled, c.paymentAttempts), .int(c.upstreamCalls), .int(c.upstreamOK),
             pct(c.upstreamOK, c.upstreamCalls), .int(c.settlementFailures), .int(c.revenueMsat), .int(c.upstreamCostMsat),
             .int(c.marginMsat), c.settled > 0 ? .int(c.marginMsat / c.settled) : .null]
        }
        let modelRows: [[JSON]] = models.map { m in
            let margin = m.revenueMsat - m.upstreamCostMsat
            return [.string(m.cohort), .string(m.model), .int(m.settled), .int(m.revenueMsat), .int(m.upstreamCostMsat), .int(margin),
                    .int(m.settled > 0 ? margin / m.settled : 0), pct(margin, m.revenueMsat)]
        }
        let verdictRows: [[JSON]] = verdicts.map { v in [.string(v.cohort), .string(v.word), .string(v.lines.joined(separator: "; "))] }
        return [
            ReportCatalog.Table(id: "cohorts", title: "Cohorts on \(route)",
                                columns: ["cohort", "requests", "payment_required", "converted", "conversion_pct", "payment_attempts", "settled",
                                          "payment_success_pct", "upstream_calls", "upstream_ok", "upstream_success_pct", "settlement_failures",
                                          "revenue_msat", "upstream_cost_msat", "margin_msat", "margin_per_request_msat"],
                                rows: cohortRows),
            ReportCatalog.Table(id: "models", title: "Margin by cohort and model",
                                columns: ["cohort", "model", "settled", "revenue_msat", "upstream_cost_msat", "margin_msat",
                                          "margin_per_request_msat", "margin_pct"], rows: modelRows),
            ReportCatalog.Table(id: "verdict", title: "Canary against control", columns: ["cohort", "verdict", "why"], rows: verdictRows),
        ]
    }
}
