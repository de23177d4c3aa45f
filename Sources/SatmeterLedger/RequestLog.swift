/// One record per request: what was asked, how it was priced, what was paid, how the upstream
/// did. Key ids only: never a key or a token.
public struct RequestRecord: Sendable, Equatable {
    public var requestID: String
    public var createdAt: Int64
    public var route: String
    public var status = 0
    public var errorCode: String?
    public var accountID: Int64?
    /// `key`, `token` (a raw Cashu token as key) or `x-cashu` (paid per request).
    public var paymentMethod: String?
    public var provider: String?
    public var model: String?
    public var pricingMode: String?
    public var pricingSource: String?
    public var resolvedPrice: String?
    public var promptTokens: Int?
    public var completionTokens: Int?
    public var usageEstimated = false
    public var paymentRequiredMsat: Int64?
    public var paymentSettled = false
    public var settlementMillis: Int64?
    public var upstreamStatus: Int?
    public var upstreamMillis: Int64?
    public var costMsat: Int64 = 0
    public var revenueMsat: Int64 = 0
    public var upstreamCostMsat: Int64 = 0
    public var totalMillis: Int64 = 0

    public init(requestID: String, createdAt: Int64, route: String) {
        self.requestID = requestID
        self.createdAt = createdAt
        self.route = route
    }

    static let columnCount = 24

    static let columns = """
        request_id, created_at, route, status, error_code, account_id, payment_method, provider, model, pricing_mode,
        pricing_source, resolved_price, prompt_tokens, completion_tokens, usage_estimated, payment_required_msat,
        payment_settled, settlement_ms, upstream_status, upstream_ms, cost_msat, revenue_msat, upstream_cost_msat, total_ms
        """

    var bindings: [SQLValue] {
        [.text(requestID), .integer(createdAt), .text(route), .int(status), .optional(errorCode), .optional(accountID),
         .optional(paymentMethod), .optional(provider), .optional(model), .optional(pricingMode), .optional(pricingSource),
         .optional(resolvedPrice), .optional(promptTokens.map(Int64.init)), .optional(completionTokens.map(Int64.init)),
         .integer(usageEstimated ? 1 : 0), .optional(paymentRequiredMsat), .integer(paymentSettled ? 1 : 0),
         .optional(settlementMillis), .optional(upstreamStatus.map(Int64.init)), .optional(upstreamMillis), .integer(costMsat),
         .integer(revenueMsat), .integer(upstreamCostMsat), .integer(totalMillis)]
    }

    init(_ row: Row) {
        requestID = row.text(0)
        createdAt = row.int(1)
        route = row.text(2)
        status = Int(row.int(3))
        errorCode = row.optionalText(4)
        accountID = row.optionalInt(5)
        paymentMethod = row.optionalText(6)
        provider = row.optionalText(7)
        model = row.optionalText(8)
        pricingMode = row.optionalText(9)
        pricingSource = row.optionalText(10)
        resolvedPrice = row.optionalText(11)
        promptTokens = row.optionalInt(12).map(Int.init)
        completionTokens = row.optionalInt(13).map(Int.init)
        usageEstimated = row.int(14) != 0
        paymentRequiredMsat = row.optionalInt(15)
        paymentSettled = row.int(16) != 0
        settlementMillis = row.optionalInt(17)
        upstreamStatus = row.optionalInt(18).map(Int.init)
        upstreamMillis = row.optionalInt(19)
        costMsat = row.int(20)
        revenueMsat = row.int(21)
        upstreamCostMsat = row.int(22)
        totalMillis = row.int(23)
    }
}

extension Ledger {
    /// Writes the records and bumps the Prometheus counters they imply, in one transaction. The
    /// counters live in the database so that every worker process reports the same totals.
    public func append(_ records: [RequestRecord]) throws(LedgerError) {
        guard !records.isEmpty else { return }
        let placeholders = Array(repeating: "?", count: RequestRecord.columnCount).joined(separator: ", ")
        var increments: [String: Int64] = [:]
        for record in records {
            for (name, labels, delta) in RequestCounters.increments(for: record) { increments[name + "\u{1}" + labels, default: 0] += delta }
        }
        try transaction { () throws(LedgerError) in
            for record in records {
                try run("INSERT INTO request_log(\(RequestRecord.columns)) VALUES (\(placeholders))", record.bindings)
            }
            for (key, delta) in increments {
                let parts = key.split(separator: "\u{1}", maxSplits: 1, omittingEmptySubsequences: false)
                try run("""
                    INSERT INTO metrics(name, labels, value) VALUES (?, ?, ?)
                    ON CONFLICT(name, labels) DO UPDATE SET value = value + excluded.value
                    """, [.text(String(parts[0])), .text(parts.count > 1 ? String(parts[1]) : ""), .integer(delta)])
            }
        }
    }

    public func append(_ record: RequestRecord) throws(LedgerError) { try append([record]) }

    public func metricCounters() throws(LedgerError) -> [(name: String, labels: String, value: Int64)] {
        try run("SELECT name, labels, value FROM metrics ORDER BY name, labels").map { ($0.text(0), $0.text(1), $0.int(2)) }
    }

    public func recentRequests(limit: Int = 100) throws(LedgerError) -> [RequestRecord] {
        try run("SELECT \(RequestRecord.columns) FROM request_log ORDER BY id DESC LIMIT ?", [.int(limit)]).map(RequestRecord.init)
    }

    public func request(id: String) throws(LedgerError) -> RequestRecord? {
        try run("SELECT \(RequestRecord.columns) FROM request_log WHERE request_id = ? ORDER BY id DESC LIMIT 1", [.text(id)]).first.map(RequestRecord.init)
    }

    /// Drops records older than the retention period; returns how many.
    @discardableResult
    public func pruneRequestLog(olderThan cutoff: Int64) throws(LedgerError) -> Int {
        try transaction { () throws(LedgerError) -> Int in
            try run("DELETE FROM request_log WHERE created_at < ?", [.integer(cutoff)])
            return db.changes
        }
    }
}
