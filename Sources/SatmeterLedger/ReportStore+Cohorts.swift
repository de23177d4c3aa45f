/// Canary against control: the request log grouped by the pricing cohort (the match rule that
/// priced each request) on one route.
extension ReportStore {
    /// One cohort's counters. Amounts in msat.
    public struct CohortCounters: Sendable, Equatable {
        public var cohort: String
        public var requests: Int64 = 0
        public var paymentRequired: Int64 = 0
        /// 402s followed, within the window, by a settled request from the same client in the same cohort.
        public var converted: Int64 = 0
        public var settled: Int64 = 0
        public var upstreamCalls: Int64 = 0
        public var upstreamOK: Int64 = 0
        /// Upstream 2xx that could not be settled.
        public var settlementFailures: Int64 = 0
        public var revenueMsat: Int64 = 0
        public var upstreamCostMsat: Int64 = 0

        public init(cohort: String) { self.cohort = cohort }

        /// Requests that came with a payment (everything but the 402s).
        public var paymentAttempts: Int64 { requests - paymentRequired }
        public var marginMsat: Int64 { revenueMsat - upstreamCostMsat }
    }

    /// One model within one cohort: settled requests and their revenue and upstream cost.
    public struct CohortModelRow: Sendable, Equatable {
        public var cohort: String
        public var model: String
        public var settled: Int64
        public var revenueMsat: Int64
        public var upstreamCostMsat: Int64
    }

    /// Per cohort on `route` between `since` and `until`; a 402 counts as converted when a settled
    /// request from the same client reference and cohort follows within `windowSeconds`.
    public func cohortCounters(route: String, since: Int64, until: Int64, windowSeconds: Int64) throws(LedgerError) -> [CohortCounters] {
        try run("""
            SELECT COALESCE(r.cohort, '(none)') AS cohort, COUNT(*) AS requests, COALESCE(SUM(r.status = 402), 0) AS payment_required,
                COALESCE(SUM(r.status = 402 AND r.client_ref IS NOT NULL AND EXISTS (
                    SELECT 1 FROM request_log p WHERE p.route = r.route AND p.cohort IS r.cohort AND p.client_ref = r.client_ref
                        AND p.payment_settled = 1 AND p.id > r.id AND p.created_at <= r.created_at + ?4)), 0) AS converted,
                COALESCE(SUM(r.payment_settled = 1), 0) AS settled,
                COALESCE(SUM(r.upstream_status IS NOT NULL OR r.error_code IN ('upstream_timeout', 'upstream_failed')), 0) AS upstream_calls,
                COALESCE(SUM(r.upstream_status BETWEEN 200 AND 299), 0) AS upstream_ok,
                COALESCE(SUM(r.payment_settled = 0 AND r.upstream_status BETWEEN 200 AND 299), 0) AS settlement_failures,
                COALESCE(SUM(r.revenue_msat), 0) AS revenue, COALESCE(SUM(r.upstream_cost_msat), 0) AS upstream_cost
            FROM request_log r WHERE r.route = ?1 AND r.created_at >= ?2 AND r.created_at < ?3
            GROUP BY 1 ORDER BY 1
            """, [.text(route), .integer(since), .integer(until), .integer(max(0, windowSeconds))]).map { row throws(LedgerError) in
                var c = CohortCounters(cohort: try row.text("cohort"))
                c.requests = try row.int("requests")
                c.paymentRequired = try row.int("payment_required")
                c.converted = try row.int("converted")
                c.settled = try row.int("settled")
                c.upstreamCalls = try row.int("upstream_calls")
                c.upstreamOK = try row.int("upstream_ok")
                c.settlementFailures = try row.int("settlement_failures")
                c.revenueMsat = try row.int("revenue")
                c.upstreamCostMsat = try row.int("upstream_cost")
                return c
            }
    }

    /// Settled requests per cohort and model on `route`.
    public func cohortModels(route: String, since: Int64, until: Int64) throws(LedgerError) -> [CohortModelRow] {
        try run("""
            SELECT COALESCE(cohort, '(none)') AS cohort, COALESCE(model, '(none)') AS model, COUNT(*) AS settled,
                SUM(revenue_msat) AS revenue, SUM(upstream_cost_msat) AS upstream_cost
            FROM request_log WHERE route = ?1 AND created_at >= ?2 AND created_at < ?3 AND payment_settled = 1
            GROUP BY 1, 2 ORDER BY 1, 2
            """, [.text(route), .integer(since), .integer(until)]).map { row throws(LedgerError) in
                CohortModelRow(cohort: try row.text("cohort"), model: try row.text("model"), settled: try row.int("settled"),
                               revenueMsat: try row.int("revenue"), upstreamCostMsat: try row.int("upstream_cost"))
            }
    }

    /// Per model over all routes since a time, for proposals: settled requests, revenue, upstream
    /// cost, tokens in and out, 402s, and 402s converted within the window.
    public func modelActivity(since: Int64, until: Int64, windowSeconds: Int64) throws(LedgerError) -> [ModelActivity] {
        try run("""
            SELECT r.model AS model, COALESCE(SUM(r.payment_settled = 1), 0) AS settled,
                COALESCE(SUM(r.revenue_msat), 0) AS revenue, COALESCE(SUM(r.upstream_cost_msat), 0) AS upstream_cost,
                COALESCE(SUM(CASE WHEN r.payment_settled = 1 THEN r.prompt_tokens END), 0) AS prompt_tokens,
                COALESCE(SUM(CASE WHEN r.payment_settled = 1 THEN r.completion_tokens END), 0) AS completion_tokens,
                COALESCE(SUM(r.status = 402), 0) AS payment_required,
                COALESCE(SUM(r.status = 402 AND r.client_ref IS NOT NULL AND EXISTS (
                    SELECT 1 FROM request_log p WHERE p.route = r.route AND p.model IS r.model AND p.client_ref = r.client_ref
                        AND p.payment_settled = 1 AND p.id > r.id AND p.created_at <= r.created_at + ?3)), 0) AS converted
            FROM request_log r WHERE r.created_at >= ?1 AND r.created_at < ?2 AND r.route != 'admin' AND r.model IS NOT NULL
            GROUP BY 1 ORDER BY 1
            """, [.integer(since), .integer(until), .integer(max(0, windowSeconds))]).map { row throws(LedgerError) in
                ModelActivity(model: try row.text("model"), settled: try row.int("settled"), revenueMsat: try row.int("revenue"),
                              upstreamCostMsat: try row.int("upstream_cost"), promptTokens: try row.int("prompt_tokens"),
                              completionTokens: try row.int("completion_tokens"), paymentRequired: try row.int("payment_required"),
                              converted: try row.int("converted"))
            }
    }

    public struct ModelActivity: Sendable, Equatable {
        public var model: String
        public var settled: Int64
        public var revenueMsat: Int64
        public var upstreamCostMsat: Int64
        public var promptTokens: Int64
        public var completionTokens: Int64
        public var paymentRequired: Int64
        public var converted: Int64

        public init(model: String, settled: Int64, revenueMsat: Int64, upstreamCostMsat: Int64, promptTokens: Int64,
                    completionTokens: Int64, paymentRequired: Int64, converted: Int64) {
            self.model = model
            self.settled = settled
            self.revenueMsat = revenueMsat
            self.upstreamCostMsat = upstreamCostMsat
            self.promptTokens = promptTokens
            self.completionTokens = completionTokens
            self.paymentRequired = paymentRequired
            self.converted = converted
        }
    }
}
