import SatmeterSupport

/// Lightning top-ups: an invoice (a mint's NUT-04 quote) for an account, then, once paid, the
/// minted proofs stored and the account credited in one transaction, exactly once.
///
/// States: `unpaid` → `minting` (our blinded outputs written, the mint asked to sign) → `paid`;
/// or `unpaid` → `expired`. A `minting` invoice left by a crash is finished from its outputs.
public struct LightningInvoice: Sendable, Equatable {
    public enum Purpose: String, Sendable { case create, topup }
    public enum State: String, Sendable { case unpaid, minting, paid, expired }

    public var idHash: String
    public var quoteID: String
    public var mint: String
    public var amountSat: Int64
    public var bolt11: String
    public var accountID: Int64
    public var purpose: Purpose
    public var state: State
    /// Our blinded outputs (the wallet's format), once minting started.
    public var outputs: JSON?
    public var createdAt: Int64
    public var expiresAt: Int64
    public var paidAt: Int64?

    static let columns = "id_hash, quote_id, mint, amount_sat, bolt11, account_id, purpose, state, outputs, created_at, expires_at, paid_at"

    init(_ row: Row) throws(LedgerError) {
        idHash = try row.text("id_hash")
        quoteID = try row.text("quote_id")
        mint = try row.text("mint")
        amountSat = try row.int("amount_sat")
        bolt11 = try row.text("bolt11")
        accountID = try row.int("account_id")
        purpose = Purpose(rawValue: try row.text("purpose")) ?? .topup
        state = State(rawValue: try row.text("state")) ?? .unpaid
        outputs = try row.optionalText("outputs").flatMap { try? JSON.parse($0) }
        createdAt = try row.int("created_at")
        expiresAt = try row.int("expires_at")
        paidAt = try row.optionalInt("paid_at")
    }
}

extension Ledger {
    /// Lightning top-up invoices.
    public var lightning: LightningStore { LightningStore(connection: connection) }
}

public struct LightningStore: LedgerStore {
    package let connection: LedgerConnection

    public func addLightningInvoice(idHash: String, quoteID: String, mint: String, amountSat: Int64, bolt11: String, accountID: Int64,
                                    purpose: LightningInvoice.Purpose, expiresAt: Int64) throws(LedgerError) {
        guard amountSat > 0 else { throw .invalidAmount }
        try run("""
            INSERT INTO lightning_invoices(id_hash, quote_id, mint, amount_sat, bolt11, account_id, purpose, state, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, 'unpaid', ?, ?)
            """, [.text(idHash), .text(quoteID), .text(mint), .integer(amountSat), .text(bolt11), .integer(accountID),
                  .text(purpose.rawValue), .integer(clock()), .integer(expiresAt)])
    }

    public func lightningInvoice(idHash: String) throws(LedgerError) -> LightningInvoice? {
        try run("SELECT \(LightningInvoice.columns) FROM lightning_invoices WHERE id_hash = ?", [.text(idHash)]).first.map { row throws(LedgerError) in try LightningInvoice(row) }
    }

    public func lightningInvoice(bolt11: String) throws(LedgerError) -> LightningInvoice? {
        try run("SELECT \(LightningInvoice.columns) FROM lightning_invoices WHERE bolt11 = ? LIMIT 1", [.text(bolt11)])
            .first.map { row throws(LedgerError) in try LightningInvoice(row) }
    }

    /// Invoices not settled yet, for the housekeeping sweep: unpaid ones until `unpaidSince`
    /// (older ones expired long ago), and every one stuck in `minting`.
    public func openLightningInvoices(unpaidSince: Int64) throws(LedgerError) -> [LightningInvoice] {
        try run("""
            SELECT \(LightningInvoice.columns) FROM lightning_invoices
            WHERE state = 'minting' OR (state = 'unpaid' AND expires_at >= ?) ORDER BY created_at
            """, [.integer(unpaidSince)]).map { row throws(LedgerError) in try LightningInvoice(row) }
    }

    /// Writes our outputs before the mint is asked to sign them. False if another thread (or
    /// process) got there first: its outputs are the ones to use.
    public func beginLightningMint(idHash: String, outputs: JSON) throws(LedgerError) -> Bool {
        try run("UPDATE lightning_invoices SET state = 'minting', outputs = ? WHERE id_hash = ? AND state = 'unpaid'",
                [.text(outputs.serialized), .text(idHash)])
        return db.changes == 1
    }

    /// The minted proofs are ours and the account is credited, together, once.
    public func completeLightningMint(idHash: String, proofs: [StoredProof], creditMsat: Int64) throws(LedgerError) {
        let now = clock()
        try transaction { () throws(LedgerError) in
            guard let invoice = try lightningInvoice(idHash: idHash), invoice.state == .minting else { throw .unknownOperation }
            for proof in proofs {
                try run("""
                    INSERT INTO proofs(secret, mint, keyset_id, amount, c, state, operation_id, created_at)
                    VALUES (?, ?, ?, ?, ?, 'unspent', ?, ?)
                    """, [.text(proof.secret), .text(proof.mint), .text(proof.keysetID), .integer(proof.amount), .text(proof.c),
                          .text("ln:" + invoice.quoteID), .integer(now)])
            }
            try run("UPDATE lightning_invoices SET state = 'paid', paid_at = ? WHERE id_hash = ?", [.integer(now), .text(idHash)])
            try creditInTransaction(accountID: invoice.accountID, amountMsat: creditMsat, kind: .deposit, requestID: nil,
                                    note: "lightning invoice paid")
        }
    }

    public func expireLightningInvoice(idHash: String) throws(LedgerError) {
        try run("UPDATE lightning_invoices SET state = 'expired' WHERE id_hash = ? AND state = 'unpaid'", [.text(idHash)])
    }
}
