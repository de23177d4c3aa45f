/// The operator's reports, read from the request log and the balance history. Admin requests
/// (route `admin`) are left out everywhere. Every amount is msat unless the name says otherwise.
public struct ReportStore: LedgerStore {
    package let connection: LedgerConnection

    /// One row of a grouped total: the group's name and its counters, in the order the query names them.
    public struct ReportRow: Sendable, Equatable {
        public var key: String
        public var values: [Int64]
    }

    /// Paid requests grouped by `model` or `provider`: requests, revenue, upstream cost, tokens in, tokens out.
    public func marginReport(groupBy column: MarginGroup, since: Int64) throws(LedgerError) -> [ReportRow] {
        try run("""
            SELECT COALESCE(\(column.rawValue), '(none)'), COUNT(*), SUM(revenue_msat), SUM(upstream_cost_msat),
                COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0)
            FROM request_log WHERE created_at >= ? AND payment_settled = 1
            GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT 100
            """, [.integer(since)]).map(Self.reportRow)
    }

    public enum MarginGroup: String, Sendable { case model, provider }

    /// Per model: 402 answers, requests paid with ecash (X-Cashu or a token as key), all paid requests.
    public func conversionByModel(since: Int64) throws(LedgerError) -> [ReportRow] {
        try run("""
            SELECT COALESCE(model, '(none)'), SUM(status = 402), SUM(payment_settled = 1 AND payment_method IN ('x-cashu', 'token')),
                SUM(payment_settled = 1)
            FROM request_log WHERE created_at >= ? AND route != 'admin'
            GROUP BY 1 HAVING SUM(status = 402) > 0 OR SUM(payment_settled = 1) > 0 ORDER BY 2 DESC, 1 LIMIT 100
            """, [.integer(since)]).map(Self.reportRow)
    }

    /// The same counters per time bucket (the cohort: requests of the same hour or day).
    public func conversionByCohort(since: Int64, bucketSeconds: Int64) throws(LedgerError) -> [ReportRow] {
        try series("""
            SUM(status = 402), SUM(payment_settled = 1 AND payment_method IN ('x-cashu', 'token')), SUM(payment_settled = 1)
            """, since: since, bucketSeconds: bucketSeconds)
    }

    /// Per bucket: requests, unknown models (refused as unsupported), priced requests, priced by a fallback.
    public func pricingSeries(since: Int64, bucketSeconds: Int64) throws(LedgerError) -> [ReportRow] {
        try series("""
            COUNT(*), SUM(error_code = 'unsupported_model'), SUM(pricing_source IS NOT NULL), SUM(pricing_source = 'fallback')
            """, since: since, bucketSeconds: bucketSeconds)
    }

    /// Per bucket: requests that held a reservation, settled, answered by the upstream but not
    /// settled (settlement failures), settlements slower than a second, upstream timeouts,
    /// other upstream failures, mints unreachable.
    public func settlementSeries(since: Int64, bucketSeconds: Int64) throws(LedgerError) -> [ReportRow] {
        try series("""
            SUM(payment_settled = 1 OR upstream_status IS NOT NULL OR error_code IN ('upstream_timeout', 'upstream_failed')),
            SUM(payment_settled = 1),
            SUM(payment_settled = 0 AND upstream_status BETWEEN 200 AND 299),
            SUM(settlement_ms > 1000),
            SUM(error_code = 'upstream_timeout'),
            SUM(error_code = 'upstream_failed' OR (upstream_status >= 500 AND error_code IS NOT 'upstream_timeout')),
            SUM(error_code = 'cashu_mint_unreachable')
            """, since: since, bucketSeconds: bucketSeconds)
    }

    /// Per bucket: paid requests, revenue, upstream cost.
    public func revenueSeries(since: Int64, bucketSeconds: Int64) throws(LedgerError) -> [ReportRow] {
        try series("SUM(payment_settled = 1), SUM(revenue_msat), SUM(upstream_cost_msat)", since: since, bucketSeconds: bucketSeconds)
    }

    /// Totals of the request log since a time: requests, paid, revenue, upstream cost, 402s, errors.
    public func requestTotals(since: Int64) throws(LedgerError) -> [Int64] {
        try run("""
            SELECT COUNT(*) AS requests, COALESCE(SUM(payment_settled = 1), 0) AS paid, COALESCE(SUM(revenue_msat), 0) AS revenue,
                COALESCE(SUM(upstream_cost_msat), 0) AS upstream_cost, COALESCE(SUM(status = 402), 0) AS payment_required,
                COALESCE(SUM(status >= 400 AND status != 402), 0) AS errors
            FROM request_log WHERE created_at >= ? AND route != 'admin'
            """, [.integer(since)]).first.map { row throws(LedgerError) in
                [try row.int("requests"), try row.int("paid"), try row.int("revenue"), try row.int("upstream_cost"),
                 try row.int("payment_required"), try row.int("errors")]
            } ?? []
    }

    /// Grouped by time bucket; the key is the bucket's start (unix seconds) as text.
    private func series(_ columns: String, since: Int64, bucketSeconds: Int64) throws(LedgerError) -> [ReportRow] {
        try run("""
            SELECT (created_at / ?1) * ?1, \(columns)
            FROM request_log WHERE created_at >= ?2 AND route != 'admin'
            GROUP BY 1 ORDER BY 1
            """, [.integer(max(1, bucketSeconds)), .integer(since)]).map(Self.reportRow)
    }

    /// Grouped totals are positional by design (the group, then its counters in the query's order);
    /// an empty SUM (NULL) is zero, anything but an integer throws.
    private static func reportRow(_ row: Row) throws(LedgerError) -> ReportRow {
        let key: String
        switch row.values.first {
        case let .integer(n)?: key = String(n)
        case let .text(t)?: key = t
        default: key = ""
        }
        var values: [Int64] = []
        for (index, value) in row.values.enumerated().dropFirst() {
            switch value {
            case let .integer(n): values.append(n)
            case .null: values.append(0)
            default: throw .storage(.decoding("report column \(row.columns[index]): expected an integer, found \(value)"))
            }
        }
        return ReportRow(key: key, values: values)
    }

    // MARK: Balance history

    /// Records the node's ecash (unspent and pending, sat) and what users are owed, once per
    /// `every` seconds however many processes call this.
    public func snapshotBalances(now: Int64, every: Int64) throws(LedgerError) {
        let slot = now / every * every
        try transaction { () throws(LedgerError) in
            try run("""
                INSERT OR IGNORE INTO balance_history(at, wallet_sat, owed_msat)
                SELECT ?, (SELECT COALESCE(SUM(amount), 0) FROM proofs WHERE state != 'spent'),
                    (SELECT COALESCE(SUM(balance_msat + reserved_msat), 0) FROM accounts)
                """, [.integer(slot)])
        }
    }

    /// (time, wallet sat, owed msat), oldest first.
    public func balanceHistory(since: Int64) throws(LedgerError) -> [(at: Int64, walletSat: Int64, owedMsat: Int64)] {
        try run("SELECT at, wallet_sat, owed_msat FROM balance_history WHERE at >= ? ORDER BY at", [.integer(since)])
            .map { row throws(LedgerError) in (try row.int("at"), try row.int("wallet_sat"), try row.int("owed_msat")) }
    }

    @discardableResult
    public func pruneBalanceHistory(olderThan cutoff: Int64) throws(LedgerError) -> Int {
        try transaction { () throws(LedgerError) -> Int in
            try run("DELETE FROM balance_history WHERE at < ?", [.integer(cutoff)])
            return db.changes
        }
    }

    // MARK: Audit

    /// Re-derives every account's balance and reservation from the ledger rows and the held
    /// reservations. Returns the accounts that disagree (empty when the books balance).
    public func audit() throws(LedgerError) -> [AuditMismatch] {
        let rows = try run("""
            SELECT a.id, a.balance_msat, a.reserved_msat,
                COALESCE(SUM(CASE l.kind WHEN 'deposit' THEN l.amount_msat WHEN 'grant' THEN l.amount_msat WHEN 'release' THEN l.amount_msat
                    WHEN 'reserve' THEN -l.amount_msat WHEN 'withdraw' THEN -l.amount_msat ELSE 0 END), 0) AS ledger_balance,
                COALESCE(SUM(CASE l.kind WHEN 'reserve' THEN l.amount_msat WHEN 'release' THEN -l.amount_msat
                    WHEN 'charge' THEN -l.amount_msat ELSE 0 END), 0) AS ledger_reserved,
                (SELECT COALESCE(SUM(amount_msat), 0) FROM reservations r WHERE r.account_id = a.id AND r.state = 'held') AS held
            FROM accounts a LEFT JOIN ledger l ON l.account_id = a.id
            GROUP BY a.id
            """)
        var mismatches: [AuditMismatch] = []
        for row in rows {
            let mismatch = AuditMismatch(accountID: try row.int("id"), balanceMsat: try row.int("balance_msat"),
                                         reservedMsat: try row.int("reserved_msat"), ledgerBalanceMsat: try row.int("ledger_balance"),
                                         ledgerReservedMsat: try row.int("ledger_reserved"), heldMsat: try row.int("held"))
            if !mismatch.isConsistent { mismatches.append(mismatch) }
        }
        return mismatches
    }

    /// Totals over all accounts, for the operator: what users are owed and what was earned.
    public func totals() throws(LedgerError) -> LedgerTotals {
        guard let row = try run("""
            SELECT COALESCE(SUM(balance_msat), 0) AS balance, COALESCE(SUM(reserved_msat), 0) AS reserved,
                (SELECT COALESCE(SUM(amount_msat), 0) FROM ledger WHERE kind = 'charge') AS earned,
                (SELECT COALESCE(SUM(amount_msat), 0) FROM ledger WHERE kind = 'deposit') AS deposited,
                (SELECT COALESCE(SUM(amount_msat), 0) FROM ledger WHERE kind = 'withdraw') AS withdrawn,
                (SELECT COALESCE(SUM(amount_msat), 0) FROM ledger WHERE kind = 'overrun') AS overrun,
                (SELECT COALESCE(SUM(amount_msat), 0) FROM ledger WHERE kind = 'grant') AS granted
            FROM accounts
            """).first
        else { return LedgerTotals() }
        let balance = try row.int("balance"), reserved = try row.int("reserved")
        return LedgerTotals(owedMsat: balance + reserved, reservedMsat: reserved, earnedMsat: try row.int("earned"),
                            depositedMsat: try row.int("deposited"), withdrawnMsat: try row.int("withdrawn"),
                            overrunMsat: try row.int("overrun"), grantedMsat: try row.int("granted"))
    }
}
