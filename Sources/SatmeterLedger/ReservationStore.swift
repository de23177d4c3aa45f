/// Reserve, then settle: the hold taken before an upstream call and its closing afterwards.
///
/// Overrun policy: if the actual cost is above what was reserved, the difference is taken from the
/// payer's remaining balance (never below zero); only what cannot be collected is recorded as an
/// `overrun` row (the operator's loss, visible in `ledger audit` and /metrics).
public struct ReservationStore: LedgerStore {
    package let connection: LedgerConnection

    /// Holds `amountMsat` for a request before the upstream call. The conditional UPDATE is the
    /// whole concurrency story: two requests racing for the last sats cannot both pass it.
    ///
    /// The key's policies are checked in the same transaction (see `KeyPolicy`): its spending
    /// limit, its allowed models (when `model` is given), and for a child key its parent's state,
    /// limit and models. A child key's hold is taken from its parent's balance.
    ///
    /// Its rate limits too (`KeyPolicy+RateLimits`): `admission` is what this request counts
    /// against them. Returns the key's use of its limits with this request in.
    @discardableResult
    public func reserve(accountID: Int64, amountMsat: Int64, requestID: String, owner: String, model: String? = nil,
                        admission: Admission = Admission()) throws(LedgerError) -> Reserved {
        guard amountMsat > 0 else { throw .invalidAmount }
        let now = clock()
        let oneStatement = reserveStatement(accountID: accountID, amountMsat: amountMsat, requestID: requestID, owner: owner, now: now,
                                            admission: admission)
        return try connection.transaction(.rowLocked, firstTrying: oneStatement) { () throws(LedgerError) -> Reserved in
            // SQLite: a key without policies is reserved for in three statements (`+OneStatement`).
            if !db.isPostgres, let reserved = try reserveWithoutPolicies(accountID: accountID, amountMsat: amountMsat, requestID: requestID,
                                                                       owner: owner, now: now, admission: admission) {
                return reserved
            }
            // The key's row and its parent's, locked first (in id order, so two reserves never wait
            // on each other crosswise): every policy read below then sees the last committed hold,
            // and requests on one key queue here as they do on SQLite's write lock.
            if db.isPostgres {
                try run("SELECT id FROM accounts WHERE id = ?1 OR id = (SELECT parent_id FROM accounts WHERE id = ?1) ORDER BY id FOR UPDATE",
                        [.integer(accountID)])
            }
            let policy = KeyPolicy(accounts: AccountStore(connection: connection), now: now)
            let (payer, rateLimit) = try policy.payingAccount(keyID: accountID, amountMsat: amountMsat, model: model, admission: admission)
            // A key paying for itself (the usual case) counts the request in the same statement.
            let ownKey = payer == accountID
            try run("""
                UPDATE accounts SET balance_msat = balance_msat - ?1, reserved_msat = reserved_msat + ?1,
                    request_count = request_count + ?3, last_used_at = CASE WHEN ?3 = 1 THEN ?4 ELSE last_used_at END
                WHERE id = ?2 AND balance_msat >= ?1
                """, [.integer(amountMsat), .integer(payer), .integer(ownKey ? 1 : 0), .integer(now)])
            guard db.changes == 1 else { throw try shortfall(accountID: payer, requiredMsat: amountMsat) }
            if !ownKey {
                try run("UPDATE accounts SET request_count = request_count + 1, last_used_at = ?1 WHERE id = ?2", [.integer(now), .integer(accountID)])
            }
            try run("""
                INSERT INTO reservations(request_id, account_id, key_account_id, amount_msat, state, owner, created_at, tokens, stream)
                VALUES (?, ?, ?, ?, 'held', ?, ?, ?, ?)
                """, [.text(requestID), .integer(payer), .integer(accountID), .integer(amountMsat), .text(owner), .integer(now),
                      .integer(admission.tokens), .integer(admission.stream ? 1 : 0)])
            try record(payer, .reserve, amountMsat, requestID, nil)
            return Reserved(rateLimit: rateLimit)
        }
    }

    /// Charges the actual cost of a request and returns the rest of its reservation to the balance.
    /// Returns nil if the reservation was no longer held (already settled, or released by a sweep).
    /// `billedTokens` replaces the tokens admitted for the key's tokens-per-minute (nil: kept).
    @discardableResult
    public func settle(requestID: String, costMsat: Int64, billedTokens: Int64? = nil) throws(LedgerError) -> Settlement? {
        guard costMsat >= 0 else { throw .invalidAmount }
        return try close(requestID: requestID, costMsat: costMsat, state: "settled", note: nil, tokens: billedTokens.map { max(0, $0) })
    }

    /// Returns a whole reservation to the balance: the request failed, charge nothing.
    @discardableResult
    public func release(requestID: String, note: String? = nil) throws(LedgerError) -> Settlement? {
        try close(requestID: requestID, costMsat: 0, state: "released", note: note, tokens: 0)
    }

    /// Releases reservations left by a worker that is gone (its owner tag) or older than a cut-off.
    /// Returns how many were released.
    @discardableResult
    public func releaseAbandoned(owner: String? = nil, olderThan cutoff: Int64? = nil) throws(LedgerError) -> Int {
        var ids: [String] = []
        if let owner {
            ids += try run("SELECT request_id FROM reservations WHERE state = 'held' AND owner = ?", [.text(owner)]).map { row throws(LedgerError) in try row.text("request_id") }
        }
        if let cutoff {
            ids += try run("SELECT request_id FROM reservations WHERE state = 'held' AND created_at < ?", [.integer(cutoff)]).map { row throws(LedgerError) in try row.text("request_id") }
        }
        var released = 0
        for id in Set(ids) where try release(requestID: id, note: "abandoned") != nil { released += 1 }
        return released
    }

    /// Reservations still held, with their owners: for sweeping and for reports.
    public func heldReservations() throws(LedgerError) -> [(requestID: String, owner: String, createdAt: Int64)] {
        try run("SELECT request_id, owner, created_at FROM reservations WHERE state = 'held'").map { row throws(LedgerError) in
            (try row.text("request_id"), try row.text("owner"), try row.int("created_at"))
        }
    }

    private func close(requestID: String, costMsat: Int64, state: String, note: String?, tokens: Int64?) throws(LedgerError) -> Settlement? {
        let now = clock()
        // Closing is idempotent (only a held reservation closes), so it waits out a PostgreSQL outage
        // rather than leave the hold to the sweeper.
        // Row-locked: the reservation row first (a second closer waits, then finds it closed), then
        // the payer's, so the balance read below is the one the UPDATE's MIN sees.
        let oneStatement = closeStatement(requestID: requestID, costMsat: costMsat, state: state, note: note, tokens: tokens, now: now)
        return try connection.transaction(waitingOutOutageFor: 30, .rowLocked, firstTrying: oneStatement) { () throws(LedgerError) -> Settlement? in
            if !db.isPostgres, let closed = try closeWithinReservation(requestID: requestID, costMsat: costMsat, state: state, note: note,
                                                                     tokens: tokens, now: now) {
                return closed
            }
            guard let held = try run("""
                SELECT account_id, amount_msat, COALESCE(key_account_id, account_id) AS key_id FROM reservations WHERE request_id = ? AND state = 'held'
                """ + forUpdate, [.text(requestID)]).first
            else { return nil }
            let accountID = try held.int("account_id")
            let reserved = try held.int("amount_msat")
            let keyID = try held.int("key_id")
            let withinReservation = min(costMsat, reserved)
            let returned = reserved - withinReservation
            let above = costMsat - withinReservation
            // Cost above the reservation comes from what is left of the balance, never below zero:
            // the MIN in this one statement is the invariant; the read before it only reports it.
            // Granted credit is spent first (`AccountStore+Solvency`).
            // Only a cost above the reservation needs it (the usual settle saves the round trip).
            let balanceBefore = above == 0 ? 0
                : try run("SELECT balance_msat FROM accounts WHERE id = ?" + forUpdate, [.integer(accountID)]).first?.int("balance_msat") ?? 0
            try run("""
                UPDATE accounts SET reserved_msat = reserved_msat - ?1, balance_msat = balance_msat + ?2 - MIN(?6, balance_msat),
                    total_spent_msat = total_spent_msat + ?3 + MIN(?6, balance_msat), last_used_at = ?4,
                    granted_unspent_msat = MAX(0, granted_unspent_msat - ?3 - MIN(?6, balance_msat))
                WHERE id = ?5
                """, [.integer(reserved), .integer(returned), .integer(withinReservation), .integer(now), .integer(accountID), .integer(above)])
            let collected = min(above, max(0, balanceBefore))
            let charged = withinReservation + collected
            let lost = above - collected
            if keyID != accountID, charged > 0 {
                // A child key: its own total counts toward its own limit (the parent's counts the family).
                try run("UPDATE accounts SET total_spent_msat = total_spent_msat + ?1 WHERE id = ?2", [.integer(charged), .integer(keyID)])
            }
            try run("UPDATE reservations SET state = ?, closed_at = ?, charged_msat = ?, tokens = COALESCE(?, tokens) WHERE request_id = ?",
                    [.text(state), .integer(now), .integer(charged), .optional(tokens), .text(requestID)])
            // What was collected above the reservation is held, then charged with it (the audit's rows stay simple).
            // One statement for all of them: a round trip fewer while the payer's row is locked.
            try record(accountID, requestID, [
                (.reserve, collected, "cost above reservation, from the balance"), (.charge, charged, note), (.release, returned, note),
                (.overrun, lost, "cost above reservation and balance: the operator's loss"),
            ].filter { $0.1 > 0 })
            return Settlement(accountID: accountID, reservedMsat: reserved, chargedMsat: charged, returnedMsat: returned,
                              overrunMsat: lost, collectedAboveMsat: collected)
        }
    }
}
