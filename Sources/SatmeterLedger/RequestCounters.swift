/// The Prometheus counters and histogram buckets a request-log record bumps. They are kept in the
/// database beside the log (see `Ledger.append`), so every worker process reports the same totals.
public enum RequestCounters {
    /// Histogram bucket bounds in milliseconds.
    public static let bucketsMillis: [Int64] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000]

    /// The counter increments one request implies: (metric, labels, delta).
    public static func increments(for record: RequestRecord) -> [(String, String, Int64)] {
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

    public static func seconds(_ millis: Int64) -> String {
        let whole = millis / 1000, frac = millis % 1000
        if frac == 0 { return "\(whole)" }
        var text = String(frac)
        while text.count < 3 { text = "0" + text }
        while text.hasSuffix("0") { text.removeLast() }
        return "\(whole).\(text)"
    }

    public static func label(_ name: String, _ value: String) -> String {
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

}
