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
    /// The pricing cohort: the match rule that priced the request, "control" when none did.
    public var cohort: String?
    /// A pseudonymous client reference (a hash, never an address), to link a 402 to its payment.
    public var clientRef: String?

    public init(requestID: String, createdAt: Int64, route: String) {
        self.requestID = requestID
        self.createdAt = createdAt
        self.route = route
    }

    static let columnCount = 26

    static let columns = """
        request_id, created_at, route, status, error_code, account_id, payment_method, provider, model, pricing_mode,
        pricing_source, resolved_price, prompt_tokens, completion_tokens, usage_estimated, payment_required_msat,
        payment_settled, settlement_ms, upstream_status, upstream_ms, cost_msat, revenue_msat, upstream_cost_msat, total_ms,
        cohort, client_ref
        """

    var bindings: [SQLValue] {
        [.text(requestID), .integer(createdAt), .text(route), .int(status), .optional(errorCode), .optional(accountID),
         .optional(paymentMethod), .optional(provider), .optional(model), .optional(pricingMode), .optional(pricingSource),
         .optional(resolvedPrice), .optional(promptTokens.map(Int64.init)), .optional(completionTokens.map(Int64.init)),
         .integer(usageEstimated ? 1 : 0), .optional(paymentRequiredMsat), .integer(paymentSettled ? 1 : 0),
         .optional(settlementMillis), .optional(upstreamStatus.map(Int64.init)), .optional(upstreamMillis), .integer(costMsat),
         .integer(revenueMsat), .integer(upstreamCostMsat), .integer(totalMillis),
         .optional(cohort), .optional(clientRef)]
    }

    init(_ row: Row) throws(LedgerError) {
        requestID = try row.text("request_id")
        createdAt = try row.int("created_at")
        route = try row.text("route")
        status = Int(try row.int("status"))
        errorCode = try row.optionalText("error_code")
        accountID = try row.optionalInt("account_id")
        paymentMethod = try row.optionalText("payment_method")
        provider = try row.optionalText("provider")
        model = try row.optionalText("model")
        pricingMode = try row.optionalText("pricing_mode")
        pricingSource = try row.optionalText("pricing_source")
        resolvedPrice = try row.optionalText("resolved_price")
        promptTokens = try row.optionalInt("prompt_tokens").map(Int.init)
        completionTokens = try row.optionalInt("completion_tokens").map(Int.init)
        usageEstimated = try row.bool("usage_estimated")
        paymentRequiredMsat = try row.optionalInt("payment_required_msat")
        paymentSettled = try row.bool("payment_settled")
        settlementMillis = try row.optionalInt("settlement_ms")
        upstreamStatus = try row.optionalInt("upstream_status").map(Int.init)
        upstreamMillis = try row.optionalInt("upstream_ms")
        costMsat = try row.int("cost_msat")
        revenueMsat = try row.int("revenue_msat")
        upstreamCostMsat = try row.int("upstream_cost_msat")
        totalMillis = try row.int("total_ms")
        cohort = try row.optionalText("cohort")
        clientRef = try row.optionalText("client_ref")
    }
}

public struct RequestLogStore: LedgerStore {
    package let connection: LedgerConnection

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
        try run("SELECT name, labels, value FROM metrics ORDER BY name, labels").map { row throws(LedgerError) in
            (try row.text("name"), try row.text("labels"), try row.int("value"))
        }
    }

    /// A key's newest request-log records.
    public func recentRequests(accountID: Int64, limit: Int) throws(LedgerError) -> [RequestRecord] {
        try run("SELECT \(RequestRecord.columns) FROM request_log WHERE account_id = ? ORDER BY id DESC LIMIT ?",
                [.integer(accountID), .int(limit)]).map(RequestRecord.init)
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
