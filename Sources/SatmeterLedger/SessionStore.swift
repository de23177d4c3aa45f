/// Flat-priced windows ("session products"): one row per key, product and window start. The
/// primary key is what makes the flat price be taken once: the request that settles first marks
/// the row paid and is charged; any other request that held the price for the same window
/// settles at nothing (its hold is released).
///
/// Admission counts a request (and its worst-case tokens) against the window's caps in one
/// conditional UPDATE, so concurrent requests on any host cannot pass a cap together; a request
/// that fails gives its count back, and settlement replaces its worst case by what it used.
public struct SessionStore: LedgerStore {
    package let connection: LedgerConnection

    public enum Admission: Sendable, Equatable {
        /// Counted in; `purchase`: the window is not paid yet, so this request must hold its price.
        case admitted(SessionSlot)
        /// A cap of the window is reached (what it has used so far).
        case capReached(requests: Int64, tokens: Int64)
    }

    /// Counts a request into `window` of `product` for key `keyID`, within the caps. The key's
    /// policies (disabled parent, expiry, allowed models) are checked as the reserve step does.
    public func admit(keyID: Int64, product: String, windowStart: Int64, windowEnd: Int64, maxRequests: Int64?,
                      maxTokens: Int64?, tokenBound: Int64, model: String?) throws(LedgerError) -> Admission {
        let tokens = min(max(0, tokenBound), 1 << 50)
        let now = clock()
        return try transaction { () throws(LedgerError) -> Admission in
            _ = try KeyPolicy(accounts: AccountStore(connection: connection), now: now).payingAccount(keyID: keyID, amountMsat: 0, model: model)
            try run("""
                INSERT OR IGNORE INTO session_windows(account_id, product, window_start, window_end, requests, tokens, created_at)
                VALUES (?, ?, ?, ?, 0, 0, ?)
                """, [.integer(keyID), .text(product), .integer(windowStart), .integer(windowEnd), .integer(now)])
            try run("""
                UPDATE session_windows SET requests = requests + 1, tokens = tokens + ?1
                WHERE account_id = ?2 AND product = ?3 AND window_start = ?4 AND requests + 1 <= ?5 AND tokens + ?1 <= ?6
                """, [.integer(tokens), .integer(keyID), .text(product), .integer(windowStart),
                      .integer(maxRequests ?? Int64.max - 1), .integer(maxTokens ?? (1 << 62))])
            let changed = db.changes == 1
            guard let row = try run("SELECT requests, tokens, paid_request_id FROM session_windows WHERE account_id = ? AND product = ? AND window_start = ?",
                                    [.integer(keyID), .text(product), .integer(windowStart)]).first else { throw .unknownAccount }
            guard changed else { return .capReached(requests: try row.int("requests"), tokens: try row.int("tokens")) }
            let purchase = try row.optionalText("paid_request_id") == nil
            return .admitted(SessionSlot(keyID: keyID, product: product, windowStart: windowStart, tokenBound: tokens, purchase: purchase))
        }
    }

    /// Closes a served request of the window: its token count becomes `usedTokens`, and if it held
    /// the window's price (`purchase`), the first such request to get here pays it, `priceMsat`
    /// from its reservation; any other releases its hold. Returns what was charged.
    @discardableResult
    public func settle(_ slot: SessionSlot, requestID: String, usedTokens: Int64, priceMsat: Int64) throws(LedgerError) -> Int64 {
        let used = min(max(0, usedTokens), 1 << 50)
        return try connection.transaction(waitingOutOutageFor: 30) { () throws(LedgerError) -> Int64 in
            try run("UPDATE session_windows SET tokens = MAX(0, tokens - ?1 + ?2) WHERE account_id = ?3 AND product = ?4 AND window_start = ?5",
                    [.integer(slot.tokenBound), .integer(used), .integer(slot.keyID), .text(slot.product), .integer(slot.windowStart)])
            guard slot.purchase else { return 0 }
            // A hold the sweeper already released cannot pay: the window stays unpaid.
            guard try !run("SELECT 1 FROM reservations WHERE request_id = ? AND state = 'held'", [.text(requestID)]).isEmpty else { return 0 }
            try run("""
                UPDATE session_windows SET paid_request_id = ?1, paid_msat = ?2, paid_at = ?3
                WHERE account_id = ?4 AND product = ?5 AND window_start = ?6 AND paid_request_id IS NULL
                """, [.text(requestID), .integer(priceMsat), .integer(clock()), .integer(slot.keyID), .text(slot.product), .integer(slot.windowStart)])
            let pays = db.changes == 1
            let reservations = ReservationStore(connection: connection)
            if pays {
                return try reservations.settle(requestID: requestID, costMsat: priceMsat)?.chargedMsat ?? 0
            }
            try reservations.release(requestID: requestID, note: "session window already paid")
            return 0
        }
    }

    /// A request of the window failed (or was refused after admission): its count goes back.
    /// Its hold, if any, is released by the caller as for any failed request.
    public func giveBack(_ slot: SessionSlot) throws(LedgerError) {
        _ = try connection.transaction(waitingOutOutageFor: 30) { () throws(LedgerError) in
            try run("""
                UPDATE session_windows SET requests = MAX(0, requests - 1), tokens = MAX(0, tokens - ?1)
                WHERE account_id = ?2 AND product = ?3 AND window_start = ?4
                """, [.integer(slot.tokenBound), .integer(slot.keyID), .text(slot.product), .integer(slot.windowStart)])
        }
    }

    /// A key's window of a product, for reports and tests.
    public func window(keyID: Int64, product: String, windowStart: Int64) throws(LedgerError) -> SessionWindowRow? {
        try run("SELECT requests, tokens, paid_request_id, paid_msat, window_end FROM session_windows WHERE account_id = ? AND product = ? AND window_start = ?",
                [.integer(keyID), .text(product), .integer(windowStart)]).first.map { row throws(LedgerError) in
            SessionWindowRow(requests: try row.int("requests"), tokens: try row.int("tokens"), paidRequestID: try row.optionalText("paid_request_id"),
                             paidMsat: try row.optionalInt("paid_msat") ?? 0, windowEnd: try row.int("window_end"))
        }
    }
}

/// A request counted into a window (see `SessionStore.admit`).
public struct SessionSlot: Sendable, Equatable {
    public var keyID: Int64
    public var product: String
    public var windowStart: Int64
    public var tokenBound: Int64
    /// The window was unpaid at admission: this request holds the window's price.
    public var purchase: Bool
}

public struct SessionWindowRow: Sendable, Equatable {
    public var requests: Int64
    public var tokens: Int64
    public var paidRequestID: String?
    public var paidMsat: Int64
    public var windowEnd: Int64
}

extension Ledger {
    /// Flat-priced windows bought per key (`SessionStore`).
    public var sessions: SessionStore { SessionStore(connection: connection) }
}
