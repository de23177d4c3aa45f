/// The common reserve and settle, in as few statements as each engine allows: a key paying for
/// itself with no policy (no parent, spending limit, model list or rate limit), and a cost within
/// its reservation. PostgreSQL does each in one statement (data-modifying CTEs), sent with the
/// rest of its group commit's batch in one round trip; SQLite, which has no such CTEs, in three
/// (no policy reads, no account row built). Everything else (a refusal included) changes nothing
/// here and takes the full path in `ReservationStore`, in the same transaction (SQLite) or the
/// next (PostgreSQL's batch).
///
/// The money rules are the full path's: the hold is the same conditional UPDATE (never below
/// zero), only a held reservation closes (idempotent), a settle's charge stays within what was held.
extension ReservationStore {
    /// What a key must not have for the one-statement reserve: every policy `KeyPolicy` checks.
    static let withoutPolicies = """
        parent_id IS NULL AND spend_limit_msat IS NULL AND allowed_models IS NULL
            AND limit_rpm IS NULL AND limit_tpm IS NULL AND limit_streams IS NULL
        """

    /// PostgreSQL: the hold (SQLite's first statement), the reservation and its ledger row; a row
    /// back when taken.
    static let reserveStatement = """
        WITH held AS (
            \(holdWithoutPolicies)
            RETURNING id
        ), booked AS (
            INSERT INTO reservations(request_id, account_id, key_account_id, amount_msat, state, owner, created_at, tokens, stream)
            SELECT ?4, id, id, ?1, 'held', ?5, ?3, ?6, ?7 FROM held
            RETURNING account_id
        )
        INSERT INTO ledger(account_id, kind, amount_msat, request_id, created_at, note)
        SELECT account_id, 'reserve', ?1, ?4, ?3, NULL FROM booked
        RETURNING account_id
        """

    func reserveStatement(accountID: Int64, amountMsat: Int64, requestID: String, owner: String, now: Int64,
                          admission: Admission) -> OneStatement<Reserved>? {
        guard db.isPostgres else { return nil }
        return OneStatement(sql: Self.reserveStatement, bindings: [
            .integer(amountMsat), .integer(accountID), .integer(now), .text(requestID), .text(owner),
            .integer(admission.tokens), .integer(admission.stream ? 1 : 0),
        ]) { rows in rows.isEmpty ? nil : Reserved(rateLimit: nil) }
    }

    /// SQLite's statements (one text each, so each is prepared once).
    static let holdWithoutPolicies = """
        UPDATE accounts SET balance_msat = balance_msat - ?1, reserved_msat = reserved_msat + ?1,
            request_count = request_count + 1, last_used_at = ?3
        WHERE id = ?2 AND balance_msat >= ?1 AND \(withoutPolicies)
        """
    static let insertOwnReservation = """
        INSERT INTO reservations(request_id, account_id, key_account_id, amount_msat, state, owner, created_at, tokens, stream)
        VALUES (?1, ?2, ?2, ?3, 'held', ?4, ?5, ?6, ?7)
        """
    /// Also PostgreSQL's first step of `closeStatement` (its ?5, the note, is not read here).
    static let closeHeld = """
        UPDATE reservations SET state = ?2, closed_at = ?3, charged_msat = ?4, tokens = COALESCE(?6, tokens)
        WHERE \(closable)
        RETURNING account_id, amount_msat
        """
    static let payFromHold = "UPDATE accounts SET \(paying(held: "?2", cost: "?3", now: "?4")) WHERE id = ?1 RETURNING balance_msat"

    /// SQLite: the same in three statements, the conditional UPDATE first. Nil: not taken (nothing changed).
    func reserveWithoutPolicies(accountID: Int64, amountMsat: Int64, requestID: String, owner: String, now: Int64,
                                admission: Admission) throws(LedgerError) -> Reserved? {
        try run(Self.holdWithoutPolicies, [.integer(amountMsat), .integer(accountID), .integer(now)])
        guard db.changes == 1 else { return nil }
        try run(Self.insertOwnReservation, [.text(requestID), .integer(accountID), .integer(amountMsat), .text(owner), .integer(now),
                                            .integer(admission.tokens), .integer(admission.stream ? 1 : 0)])
        try record(accountID, .reserve, amountMsat, requestID, nil)
        return Reserved(rateLimit: nil)
    }

    /// Which reservation closes in one statement: held, paid by the key that made it, and the
    /// cost within it (a child key's and an overrun take the full path).
    static let closable = """
        request_id = ?1 AND state = 'held' AND amount_msat >= ?4 AND COALESCE(key_account_id, account_id) = account_id
        """

    /// What the payer's row gets back: the amount held leaves `reserved_msat`, all of it but the
    /// cost returns to the balance; granted credit is spent first. (Placeholders as arguments.)
    static func paying(held: String, cost: String, now: String) -> String {
        """
        reserved_msat = reserved_msat - \(held), balance_msat = balance_msat + \(held) - \(cost),
            total_spent_msat = total_spent_msat + \(cost), last_used_at = \(now),
            granted_unspent_msat = MAX(0, granted_unspent_msat - \(cost))
        """
    }

    /// PostgreSQL: close the reservation, pay from the hold, write the charge and release rows;
    /// a row back (the payer, the amount held) when it closed.
    static let closeStatement = """
        WITH closed AS (
            \(closeHeld)
        ), paid AS (
            UPDATE accounts SET \(paying(held: "closed.amount_msat", cost: "?4", now: "?3"))
            FROM closed WHERE accounts.id = closed.account_id
            RETURNING accounts.balance_msat
        ), booked AS (
            INSERT INTO ledger(account_id, kind, amount_msat, request_id, created_at, note)
            SELECT closed.account_id, entry.kind, entry.amount, ?1, ?3, CAST(?5 AS TEXT)
            FROM closed CROSS JOIN LATERAL (VALUES (1, 'charge', ?4), (2, 'release', closed.amount_msat - ?4)) AS entry(n, kind, amount)
            WHERE entry.amount > 0 ORDER BY entry.n
            RETURNING id
        )
        SELECT closed.account_id, closed.amount_msat, paid.balance_msat FROM closed, paid
        """

    func closeStatement(requestID: String, costMsat: Int64, state: String, note: String?, tokens: Int64?,
                        now: Int64) -> OneStatement<Settlement?>? {
        guard db.isPostgres else { return nil }
        return OneStatement(sql: Self.closeStatement, bindings: [
            .text(requestID), .text(state), .integer(now), .integer(costMsat), .optional(note), .optional(tokens),
        ]) { rows in
            guard let row = rows.first, let accountID = try? row.int("account_id"), let reserved = try? row.int("amount_msat") else {
                return nil
            }
            return .some(Self.settlement(accountID: accountID, reserved: reserved, cost: costMsat, balance: try? row.int("balance_msat")))
        }
    }

    /// SQLite: the same in three statements, the reservation's UPDATE first. Nil: not closed here
    /// (nothing changed).
    func closeWithinReservation(requestID: String, costMsat: Int64, state: String, note: String?, tokens: Int64?,
                                now: Int64) throws(LedgerError) -> Settlement? {
        guard let held = try run(Self.closeHeld, [.text(requestID), .text(state), .integer(now), .integer(costMsat), .optional(note),
                                                  .optional(tokens)]).first
        else { return nil }
        let accountID = try held.int("account_id")
        let reserved = try held.int("amount_msat")
        let balance = try run(Self.payFromHold, [.integer(accountID), .integer(reserved), .integer(costMsat), .integer(now)])
            .first?.optionalInt("balance_msat")
        try record(accountID, requestID, [(.charge, costMsat, note), (.release, reserved - costMsat, note)].filter { $0.1 > 0 })
        return Self.settlement(accountID: accountID, reserved: reserved, cost: costMsat, balance: balance)
    }

    private static func settlement(accountID: Int64, reserved: Int64, cost: Int64, balance: Int64?) -> Settlement {
        Settlement(accountID: accountID, reservedMsat: reserved, chargedMsat: cost, returnedMsat: reserved - cost, overrunMsat: 0,
                   collectedAboveMsat: 0, balanceMsat: balance)
    }
}
