import SatmeterLedger

/// Prometheus metrics. Counters and histogram buckets are kept in the database (bumped with each
/// request-log record), so every worker process answers `/metrics` with the same totals; gauges
/// (money owed, reserved, the wallet) are read live.
public enum MetricsCatalog {
    static let help: [String: (type: String, help: String)] = [
        "satmeter_requests_total": ("counter", "Requests by route, status and error code."),
        "satmeter_payments_total": ("counter", "Requests whose payment was settled, by payment method."),
        "satmeter_payment_required_total": ("counter", "Requests refused for payment (402), by route and model."),
        "satmeter_settlements_total": ("counter", "Reservations closed, by outcome (charged, released)."),
        "satmeter_upstream_errors_total": ("counter", "Upstream failures by upstream status (0 = no answer)."),
        "satmeter_pricing_source_total": ("counter", "Priced requests by pricing source (fallback = unknown model)."),
        "satmeter_usage_estimated_total": ("counter", "Charges computed from an estimate because the upstream reported no usage."),
        "satmeter_revenue_msat_total": ("counter", "Charged to clients, msat."),
        "satmeter_upstream_cost_msat_total": ("counter", "Estimated upstream cost of charged requests, msat."),
        "satmeter_request_duration_seconds": ("histogram", "Whole request time in the worker."),
        "satmeter_upstream_duration_seconds": ("histogram", "Upstream call time."),
        "satmeter_settlement_duration_seconds": ("histogram", "Time to settle a reservation."),
    ]

    /// The Prometheus text exposition.
    public static func render(ledger: Ledger) throws(LedgerError) -> String {
        var counters: [String: [(String, Int64)]] = [:]
        for (name, labels, value) in try ledger.requestLog.metricCounters() { counters[name, default: []].append((labels, value)) }
        var out = ""
        for name in help.keys.sorted() {
            guard let (type, text) = help[name] else { continue }
            out += "# HELP \(name) \(text)\n# TYPE \(name) \(type)\n"
            if type == "histogram" {
                let observed = Dictionary(counters[name + "_bucket", default: []].map { ($0.0, $0.1) }, uniquingKeysWith: +)
                var cumulative: Int64 = 0
                for bound in RequestCounters.bucketsMillis.map(RequestCounters.seconds) + ["+Inf"] {
                    cumulative += observed[RequestCounters.label("le", bound)] ?? 0
                    out += "\(name)_bucket{\(RequestCounters.label("le", bound))} \(cumulative)\n"
                }
                let sumMillis = counters[name + "_sum_ms"]?.first?.1 ?? 0
                out += "\(name)_sum \(RequestCounters.seconds(sumMillis))\n\(name)_count \(counters[name + "_count"]?.first?.1 ?? 0)\n"
            } else {
                let series = counters[name] ?? []
                if series.isEmpty { out += "\(name) 0\n" }
                for (labels, value) in series { out += labels.isEmpty ? "\(name) \(value)\n" : "\(name){\(labels)} \(value)\n" }
            }
        }
        let totals = try ledger.reports.totals()
        out += "# HELP satmeter_owed_msat Spendable plus reserved balances of all keys.\n# TYPE satmeter_owed_msat gauge\n"
        out += "satmeter_owed_msat \(totals.owedMsat)\n"
        out += "# HELP satmeter_reserved_msat Held for requests in flight.\n# TYPE satmeter_reserved_msat gauge\n"
        out += "satmeter_reserved_msat \(totals.reservedMsat)\n"
        out += "# HELP satmeter_earned_msat Charged to clients since the start of the books.\n# TYPE satmeter_earned_msat gauge\n"
        out += "satmeter_earned_msat \(totals.earnedMsat)\n"
        out += "# HELP satmeter_overrun_loss_msat Cost above a reservation that the payer's balance could not cover (the operator's loss).\n"
        out += "# TYPE satmeter_overrun_loss_msat gauge\nsatmeter_overrun_loss_msat \(totals.overrunMsat)\n"
        out += "# HELP satmeter_wallet_sat The node's ecash by mint and state.\n# TYPE satmeter_wallet_sat gauge\n"
        for (mint, state, amount) in try ledger.wallet.proofTotals() {
            out += "satmeter_wallet_sat{\(RequestCounters.label("mint", mint)),\(RequestCounters.label("state", state))} \(amount)\n"
        }
        return out
    }
}
