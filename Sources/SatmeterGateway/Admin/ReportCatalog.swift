import SatmeterLedger
import SatmeterPricing
import SatmeterSupport

/// The operator's reports, shaped once for the admin API (JSON) and `satmeter report` (text):
/// each report is a set of tables with named columns. Rates are percentages with one decimal,
/// null where nothing was counted. Time series use hourly buckets up to two days, else daily.
public struct ReportCatalog {
    public let ledger: Ledger
    public let now: Int64
    /// The `cohorts` report's route, its start (else `days` back) and its thresholds.
    public var cohortRoute = "POST /v1/chat/completions"
    public var since: Int64?
    public var loop = PricingLoopConfig()

    public init(ledger: Ledger, now: Int64 = Clock.now()) {
        self.ledger = ledger
        self.now = now
    }

    public struct Table: Sendable {
        public var id: String
        public var title: String
        public var columns: [String]
        public var rows: [[JSON]]

        var json: JSON {
            ["id": .string(id), "title": .string(title), "columns": .array(columns.map { .string($0) }), "rows": .array(rows.map { .array($0) })]
        }
    }

    public static let names: [String: String] = [
        "summary": "Money owed, earned and held, and the last 24 hours",
        "margin": "Revenue, upstream cost and margin by model and by provider",
        "conversion": "402 (payment required) answers against requests paid, by model and by cohort (hour or day)",
        "pricing": "Unknown-model rate and fallback-price hit rate over time",
        "settlement": "Settlement failures, slow settlements and timeouts over time",
        "revenue": "Revenue and upstream cost over time",
        "wallet": "The node's ecash against what users are owed, over time",
        "cohorts": "Canary against control on one route (--route): conversion, payment and upstream success, margin, verdict",
    ]

    /// nil for an unknown report name.
    public func report(_ name: String, days: Int) throws(LedgerError) -> (tables: [Table], since: Int64, bucketSeconds: Int64)? {
        let since = self.since ?? now - Int64(max(1, days)) * 86_400
        let bucket: Int64 = days <= 2 ? 3600 : 86_400
        let tables: [Table]
        switch name {
        case "summary": tables = try summary()
        case "margin":
            tables = [try margin(.model, since), try margin(.provider, since)]
        case "conversion":
            tables = [
                conversion("by_model", "By model", "model", try ledger.reports.conversionByModel(since: since)),
                conversion("by_cohort", "By cohort", "bucket", try ledger.reports.conversionByCohort(since: since, bucketSeconds: bucket)),
            ]
        case "pricing":
            tables = [Table(id: "series", title: "Unknown models and fallback prices",
                            columns: ["bucket", "requests", "unknown_model", "unknown_model_pct", "priced", "fallback", "fallback_pct"],
                            rows: try ledger.reports.pricingSeries(since: since, bucketSeconds: bucket).map { r in
                                [.int(Int64(r.key) ?? 0), .int(r.values[0]), .int(r.values[1]), Self.percent(r.values[1], r.values[0]),
                                 .int(r.values[2]), .int(r.values[3]), Self.percent(r.values[3], r.values[2])]
                            })]
        case "settlement":
            tables = [Table(id: "series", title: "Settlements",
                            columns: ["bucket", "attempts", "settled", "settlement_failures", "failure_pct", "slow_settlements",
                                      "upstream_timeouts", "timeout_pct", "upstream_failures", "mint_unreachable"],
                            rows: try ledger.reports.settlementSeries(since: since, bucketSeconds: bucket).map { r in
                                let v = r.values
                                return [.int(Int64(r.key) ?? 0), .int(v[0]), .int(v[1]), .int(v[2]), Self.percent(v[2], v[0]), .int(v[3]),
                                        .int(v[4]), Self.percent(v[4], v[0]), .int(v[5]), .int(v[6])]
                            })]
        case "revenue":
            tables = [Table(id: "series", title: "Revenue", columns: ["bucket", "paid", "revenue_msat", "upstream_cost_msat", "margin_msat"],
                            rows: try ledger.reports.revenueSeries(since: since, bucketSeconds: bucket).map { r in
                                [.int(Int64(r.key) ?? 0), .int(r.values[0]), .int(r.values[1]), .int(r.values[2]), .int(r.values[1] - r.values[2])]
                            })]
        case "cohorts":
            tables = try CohortComparison(ledger: ledger, route: cohortRoute, since: since, until: now + 1, loop: loop).tables
        case "wallet":
            tables = [try walletNow(), Table(id: "series", title: "History", columns: ["time", "wallet_sat", "owed_msat"],
                                             rows: try ledger.reports.balanceHistory(since: since).map { [.int($0.at), .int($0.walletSat), .int($0.owedMsat)] })]
        default: return nil
        }
        return (tables, since, bucket)
    }

    public func json(_ name: String, days: Int) throws(LedgerError) -> JSON? {
        guard let (tables, since, bucket) = try report(name, days: days) else { return nil }
        return ["name": .string(name), "since": .int(since), "bucket_seconds": .int(bucket), "tables": .array(tables.map(\.json))]
    }

    /// Plain text: each table with a title line and tab-separated rows.
    public func text(_ name: String, days: Int) throws(LedgerError) -> String? {
        guard let (tables, _, _) = try report(name, days: days) else { return nil }
        return tables.map { table in
            var out = "# \(table.title)\n" + table.columns.joined(separator: "\t") + "\n"
            for row in table.rows {
                out += row.map { cell in
                    switch cell {
                    case let .string(s): s
                    case let .number(n): n
                    case let .bool(b): b ? "yes" : "no"
                    default: "-"
                    }
                }.joined(separator: "\t") + "\n"
            }
            return out
        }.joined(separator: "\n")
    }

    private func margin(_ group: ReportStore.MarginGroup, _ since: Int64) throws(LedgerError) -> Table {
        Table(id: "by_\(group.rawValue)", title: "By \(group.rawValue)",
              columns: [group.rawValue, "requests", "revenue_msat", "upstream_cost_msat", "margin_msat", "margin_pct", "prompt_tokens", "completion_tokens"],
              rows: try ledger.reports.marginReport(groupBy: group, since: since).map { r in
                  let v = r.values
                  return [.string(r.key), .int(v[0]), .int(v[1]), .int(v[2]), .int(v[1] - v[2]), Self.percent(v[1] - v[2], v[1]), .int(v[3]), .int(v[4])]
              })
    }

    private func conversion(_ id: String, _ title: String, _ keyName: String, _ rows: [ReportStore.ReportRow]) -> Table {
        Table(id: id, title: title, columns: [keyName, "payment_required", "paid_ecash", "paid_total", "conversion_pct"],
              rows: rows.map { r in
                  let key: JSON = keyName == "bucket" ? .int(Int64(r.key) ?? 0) : .string(r.key)
                  return [key, .int(r.values[0]), .int(r.values[1]), .int(r.values[2]), Self.percent(min(r.values[1], r.values[0]), r.values[0])]
              })
    }

    private func summary() throws(LedgerError) -> [Table] {
        let totals = try ledger.reports.totals()
        let day = try ledger.reports.requestTotals(since: now - 86_400)
        let keys = try ledger.accounts.accounts(search: nil, kind: .key, limit: 1, offset: 0).total
        let expired = try ledger.accounts.expiredKeysWithBalance(now: now)
        let money = Table(id: "money", title: "Money (msat)", columns: ["owed_msat", "reserved_msat", "earned_msat", "deposited_msat",
                                                                         "granted_msat", "withdrawn_msat", "overrun_msat", "keys",
                                                                         "expired_keys_with_balance", "expired_balance_msat"],
                          rows: [[.int(totals.owedMsat), .int(totals.reservedMsat), .int(totals.earnedMsat), .int(totals.depositedMsat),
                                  .int(totals.grantedMsat), .int(totals.withdrawnMsat), .int(totals.overrunMsat), .int(keys),
                                  .int(Int64(expired.count)), .int(expired.reduce(0) { $0 + $1.balanceMsat })]])
        let last24h = Table(id: "last_24h", title: "Last 24 hours",
                            columns: ["requests", "paid", "revenue_msat", "upstream_cost_msat", "payment_required", "errors"],
                            rows: [day.map { .int($0) }])
        return [money, last24h, try walletNow()]
    }

    private func walletNow() throws(LedgerError) -> Table {
        let owed = try ledger.reports.totals().owedMsat
        var rows: [[JSON]] = []
        var byMint: [String: (unspent: Int64, pending: Int64)] = [:]
        for (mint, state, amount) in try ledger.wallet.proofTotals() {
            if state == "unspent" { byMint[mint, default: (0, 0)].unspent += amount }
            if state == "pending" { byMint[mint, default: (0, 0)].pending += amount }
        }
        for (mint, amounts) in byMint.sorted(by: { $0.key < $1.key }) { rows.append([.string(mint), .int(amounts.unspent), .int(amounts.pending)]) }
        let unspent = byMint.values.reduce(0) { $0 + $1.unspent }
        rows.append([.string("all mints"), .int(unspent), .int(byMint.values.reduce(0) { $0 + $1.pending })])
        rows.append([.string("owed to users"), .int(Msat(owed).satsRoundedUp.value), .null])
        rows.append([.string("surplus (wallet − owed)"), .int(unspent - Msat(owed).satsRoundedUp.value), .null])
        return Table(id: "now", title: "Node wallet now (sat)", columns: ["mint", "unspent_sat", "pending_sat"], rows: rows)
    }

    /// a / b as a percentage with one decimal; null when b is 0.
    static func percent(_ a: Int64, _ b: Int64) -> JSON {
        guard b > 0 else { return .null }
        let tenths = (a * 1000 + b / 2) / b
        let sign = tenths < 0 ? "-" : ""
        return .number("\(sign)\(abs(tenths) / 10).\(abs(tenths) % 10)")
    }
}
