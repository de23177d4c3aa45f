/// Prometheus metrics. Counters and histogram buckets are kept in the database (bumped with each
/// request-log record), so every worker process answers `/metrics` with the same totals; gauges
/// (money owed, reserved, the wallet) are read live.
public enum MetricsCatalog {
    /// Histogram bucket bounds in milliseconds.
    static let bucketsMillis: [Int64] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000]

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

    /// The counter increments one request implies: (metric, labels, delta).
    static func increments(for record: RequestRecord) -> [(String, String, Int64)] {
        var out: [(String, String, Int64)] = []
        let route = label("route", record.route)
        out.append(("satmeter_requests_total", "\(route),\(label("status", String(record.status))),\(label("code", record.errorCode ?? ""))", 1))
        if record.paymentSettled {
            out.append(("satmeter_payments_total", label("method", record.paymentMethod ?? ""), 1))
            out.append(("satmeter_settlements_total", label("outcome", "charged"), 1))
        } else if record.paymentRequiredMsat != nil, record.status != 402 {
            out.append(("satmeter_settlements_total", label("outcome", "released"), 1))
        }
        if record.status == 402 {
            out.append(("satmeter_payment_required_total", "\(route),\(label("model", record.model ?? ""))", 1))
        }
        if let upstream = record.upstreamStatus, upstream >= 400 || upstream == 0 {
            out.append(("satmeter_upstream_errors_total", label("status", String(upstream)), 1))
        } else if record.upstreamStatus == nil, record.errorCode == "upstream_failed" || record.errorCode == "upstream_timeout" {
            out.append(("satmeter_upstream_errors_total", label("status", "0"), 1))
        }
        if let source = record.pricingSource { out.append(("satmeter_pricing_source_total", label("source", source), 1)) }
        if record.usageEstimated { out.append(("satmeter_usage_estimated_total", "", 1)) }
        if record.revenueMsat > 0 { out.append(("satmeter_revenue_msat_total", "", record.revenueMsat)) }
        if record.upstreamCostMsat > 0 { out.append(("satmeter_upstream_cost_msat_total", "", record.upstreamCostMsat)) }
        out += histogram("satmeter_request_duration_seconds", record.totalMillis)
        if let ms = record.upstreamMillis { out += histogram("satmeter_upstream_duration_seconds", ms) }
        if let ms = record.settlementMillis { out += histogram("satmeter_settlement_duration_seconds", ms) }
        return out
    }

    /// Cumulative buckets are summed at render time; here each observation lands in one bucket.
    private static func histogram(_ name: String, _ millis: Int64) -> [(String, String, Int64)] {
        let bound = bucketsMillis.first { millis <= $0 }.map(seconds) ?? "+Inf"
        return [(name + "_bucket", label("le", bound), 1), (name + "_count", "", 1), (name + "_sum_ms", "", max(0, millis))]
    }

    static func seconds(_ millis: Int64) -> String {
        let whole = millis / 1000, frac = millis % 1000
        if frac == 0 { return "\(whole)" }
        var text = String(frac)
        while text.count < 3 { text = "0" + text }
        while text.hasSuffix("0") { text.removeLast() }
        return "\(whole).\(text)"
    }

    static func label(_ name: String, _ value: String) -> String {
        var escaped = ""
        for scalar in value.unicodeScalars.prefix(200) {
            switch scalar {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return "\(name)=\"\(escaped)\""
    }

    /// The Prometheus text exposition.
    public static func render(ledger: Ledger) throws(LedgerError) -> String {
        var counters: [String: [(String, Int64)]] = [:]
        for (name, labels, value) in try ledger.metricCounters() { counters[name, default: []].append((labels, value)) }
        var out = ""
        for name in help.keys.sorted() {
            guard let (type, text) = help[name] else { continue }
            out += "# HELP \(name) \(text)\n# TYPE \(name) \(type)\n"
            if type == "histogram" {
                let observed = Dictionary(counters[name + "_bucket", default: []].map { ($0.0, $0.1) }, uniquingKeysWith: +)
                var cumulative: Int64 = 0
                for bound in bucketsMillis.map(seconds) + ["+Inf"] {
                    cumulative += observed[label("le", bound)] ?? 0
                    out += "\(name)_bucket{\(label("le", bound))} \(cumulative)\n"
                }
                let sumMillis = counters[name + "_sum_ms"]?.first?.1 ?? 0
                out += "\(name)_sum \(seconds(sumMillis))\n\(name)_count \(counters[name + "_count"]?.first?.1 ?? 0)\n"
            } else {
                let series = counters[name] ?? []
                if series.isEmpty { out += "\(name) 0\n" }
                for (labels, value) in series { out += labels.isEmpty ? "\(name) \(value)\n" : "\(name){\(labels)} \(value)\n" }
            }
        }
        let totals = try ledger.totals()
        out += "# HELP satmeter_owed_msat Spendable plus reserved balances of all keys.\n# TYPE satmeter_owed_msat gauge\n"
        out += "satmeter_owed_msat \(totals.owedMsat)\n"
        out += "# HELP satmeter_reserved_msat Held for requests in flight.\n# TYPE satmeter_reserved_msat gauge\n"
        out += "satmeter_reserved_msat \(totals.reservedMsat)\n"
        out += "# HELP satmeter_earned_msat Charged to clients since the start of the books.\n# TYPE satmeter_earned_msat gauge\n"
        out += "satmeter_earned_msat \(totals.earnedMsat)\n"
        out += "# HELP satmeter_overrun_loss_msat Cost above a reservation that the payer's balance could not cover (the operator's loss).\n"
        out += "# TYPE satmeter_overrun_loss_msat gauge\nsatmeter_overrun_loss_msat \(totals.overrunMsat)\n"
        out += "# HELP satmeter_wallet_sat The node's ecash by mint and state.\n# TYPE satmeter_wallet_sat gauge\n"
        for (mint, state, amount) in try ledger.proofTotals() {
            out += "satmeter_wallet_sat{\(label("mint", mint)),\(label("state", state))} \(amount)\n"
        }
        return out
    }
}
