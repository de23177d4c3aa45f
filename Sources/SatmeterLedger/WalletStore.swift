import SatmeterSupport

/// The node's ecash, in the same database and transactions as the balances it backs.
///
/// Every exchange with a mint is an operation: `begin…` writes it (and moves balance and proofs
/// into a pending state) before the mint is called; `complete…` or `fail…` closes it in one
/// transaction with the balance change. A pending operation found after a crash is finished by
/// the wallet's recovery from what was written here.
public struct WalletStore: LedgerStore {
    package let connection: LedgerConnection

    /// Starts receiving proofs: refused if the same inputs are being or were received (a failed
    /// attempt does not count, so a token refused while its mint was down can be tried again).
    public func beginReceive(_ operation: MintOperation) throws(LedgerError) {
        try transaction { () throws(LedgerError) in
            try insertOperation(operation)
        }
    }

    /// Finishes a receive: the fresh proofs are ours and the account is credited, together.
    public func completeReceive(operationID: String, newProofs: [StoredProof], creditAccountID: Int64?, creditMsat: Int64) throws(LedgerError) {
        let now = clock()
        try transaction { () throws(LedgerError) in
            guard let op = try pendingOperation(operationID) else { throw .unknownOperation }
            try insertProofs(newProofs, operationID: operationID)
            try run("UPDATE mint_operations SET state = 'done', amount_msat = ?, updated_at = ? WHERE id = ?",
                    [.integer(creditMsat), .integer(now), .text(operationID)])
            if let account = creditAccountID ?? op.accountID, creditMsat > 0 {
                try creditInTransaction(accountID: account, amountMsat: creditMsat, kind: .deposit, requestID: op.requestID, note: "ecash received")
            }
        }
    }

    /// Starts sending: debits the account (if any) and locks the input proofs, or moves nothing.
    public func beginSend(_ operation: MintOperation, debitMsat: Int64) throws(LedgerError) {
        try transaction { () throws(LedgerError) in
            if let account = operation.accountID, debitMsat > 0 {
                try run("""
                    UPDATE accounts SET balance_msat = balance_msat - ?1, total_withdrawn_msat = total_withdrawn_msat + ?1
                    WHERE id = ?2 AND balance_msat >= ?1
                    """, [.integer(debitMsat), .integer(account)])
                guard db.changes == 1 else { throw try shortfall(accountID: account, requiredMsat: debitMsat) }
                try record(account, .withdraw, debitMsat, operation.requestID, "ecash sent")
            }
            for proof in operation.inputs {
                try run("UPDATE proofs SET state = 'pending', operation_id = ? WHERE secret = ? AND state = 'unspent'",
                        [.text(operation.id), .text(proof.secret)])
                guard db.changes == 1 else { throw .proofsUnavailable }
            }
            var op = operation
            op.amountMsat = debitMsat
            try insertOperation(op)
        }
    }

    /// Finishes a send (or melt): inputs are spent, our change proofs are kept, the result recorded.
    public func completeSend(operationID: String, keptProofs: [StoredProof], result: String) throws(LedgerError) {
        let now = clock()
        try transaction { () throws(LedgerError) in
            guard try pendingOperation(operationID) != nil else { throw .unknownOperation }
            try run("UPDATE proofs SET state = 'spent' WHERE operation_id = ? AND state = 'pending'", [.text(operationID)])
            try insertProofs(keptProofs, operationID: operationID)
            try run("UPDATE mint_operations SET state = 'done', result = ?, updated_at = ? WHERE id = ?",
                    [.text(result), .integer(now), .text(operationID)])
        }
    }

    /// Closes an operation the mint did not perform: locked proofs come back, a debit is refunded.
    public func failOperation(operationID: String, reason: String) throws(LedgerError) {
        let now = clock()
        try transaction { () throws(LedgerError) in
            guard let op = try pendingOperation(operationID) else { return }
            try run("UPDATE proofs SET state = 'unspent', operation_id = NULL WHERE operation_id = ? AND state = 'pending'", [.text(operationID)])
            try run("UPDATE mint_operations SET state = 'failed', result = ?, updated_at = ? WHERE id = ?",
                    [.text(String(reason.prefix(500))), .integer(now), .text(operationID)])
            if op.kind != .receive, let account = op.accountID, op.amountMsat > 0 {
                try creditInTransaction(accountID: account, amountMsat: op.amountMsat, kind: .deposit, requestID: op.requestID,
                                        note: "refund of a failed send")
            }
        }
    }

    /// Marks proofs the mint reports as spent (found by a state check), outside any operation.
    public func markSpent(secrets: [String]) throws(LedgerError) {
        try transaction { () throws(LedgerError) in
            for secret in secrets { try run("UPDATE proofs SET state = 'spent' WHERE secret = ?", [.text(secret)]) }
        }
    }

    /// Starts paying out earnings: locks the input proofs and records the payout as pending, in
    /// one transaction. `feeMsat` is everything beyond the amount until the change is known.
    public func beginPayout(_ operation: MintOperation, destination: String, amountMsat: Int64, feeMsat: Int64) throws(LedgerError) {
        let now = clock()
        try transaction { () throws(LedgerError) in
            try beginSend(operation, debitMsat: 0)
            try run("""
                INSERT INTO payouts(id, mint, destination, amount_msat, fee_msat, state, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)
                """, [.text(operation.id), .text(operation.mint), .text(destination), .integer(amountMsat), .integer(feeMsat),
                      .integer(now), .integer(now)])
        }
    }

    /// The payment went through: inputs spent, change kept, the real fee recorded.
    public func completePayout(operationID: String, change: [StoredProof], feeMsat: Int64, quoteID: String) throws(LedgerError) {
        try transaction { () throws(LedgerError) in
            try completeSend(operationID: operationID, keptProofs: change, result: quoteID)
            try run("UPDATE payouts SET state = 'paid', fee_msat = ?, updated_at = ? WHERE id = ?",
                    [.integer(feeMsat), .integer(clock()), .text(operationID)])
        }
    }

    /// A key's refund to Lightning went through: inputs spent, change kept, and the part of the
    /// change the key had paid for (unused fee reserve) credited back to it, together.
    public func completeAccountMelt(operationID: String, change: [StoredProof], creditAccountID: Int64, creditMsat: Int64,
                                    quoteID: String) throws(LedgerError) {
        try transaction { () throws(LedgerError) in
            try completeSend(operationID: operationID, keptProofs: change, result: quoteID)
            if creditMsat > 0 {
                try creditInTransaction(accountID: creditAccountID, amountMsat: creditMsat, kind: .deposit, requestID: quoteID,
                                        note: "unused Lightning fee reserve")
            }
        }
    }

    /// The payment did not happen: the proofs are ours again (and a key it was debited from is
    /// refunded); a payout row, if there is one, is marked failed.
    public func failPayout(operationID: String, reason: String) throws(LedgerError) {
        try transaction { () throws(LedgerError) in
            try failOperation(operationID: operationID, reason: reason)
            try run("UPDATE payouts SET state = 'failed', updated_at = ? WHERE id = ?", [.integer(clock()), .text(operationID)])
        }
    }

    public func payouts() throws(LedgerError) -> [(id: String, amountMsat: Int64, feeMsat: Int64, state: String)] {
        try run("SELECT id, amount_msat, fee_msat, state FROM payouts ORDER BY created_at").map { row throws(LedgerError) in
            (try row.text("id"), try row.int("amount_msat"), try row.int("fee_msat"), try row.text("state"))
        }
    }

    /// A lease so that one process at a time does a job (payouts) among several sharing the file.
    /// True when `owner` holds it for the next `seconds`.
    public func claimLease(_ name: String, owner: String, seconds: Int64) throws(LedgerError) -> Bool {
        let now = clock()
        return try transaction { () throws(LedgerError) -> Bool in
            let current = try run("SELECT value FROM meta WHERE name = ?", [.text("lease:" + name)]).first?.text("value")
            if let current {
                let parts = current.split(separator: " ", maxSplits: 1)
                let expiry = parts.first.flatMap { Int64($0) } ?? 0
                let holder = parts.count > 1 ? String(parts[1]) : ""
                guard expiry < now || holder == owner else { return false }
            }
            try run("INSERT INTO meta(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                    [.text("lease:" + name), .text("\(now + seconds) \(owner)")])
            return true
        }
    }

    /// Earnings that left the node (amount and fees), pending payouts included: the wallet holds
    /// that much less than the books' earnings.
    public func payoutTotalMsat() throws(LedgerError) -> Int64 {
        try run("SELECT COALESCE(SUM(amount_msat + fee_msat), 0) AS total FROM payouts WHERE state != 'failed'").first?.int("total") ?? 0
    }

    /// The token most recently sent from an account (for replaying lost change).
    public func lastSentToken(accountID: Int64) throws(LedgerError) -> String? {
        try run("""
            SELECT result FROM mint_operations WHERE account_id = ? AND kind = 'send' AND state = 'done' AND result != ''
            ORDER BY updated_at DESC, rowid DESC LIMIT 1
            """, [.integer(accountID)]).first?.optionalText("result")
    }

    public func pendingOperations() throws(LedgerError) -> [MintOperation] {
        try run("SELECT \(MintOperation.columns) FROM mint_operations WHERE state = 'pending' ORDER BY created_at").map(MintOperation.init)
    }

    public func operation(id: String) throws(LedgerError) -> MintOperation? {
        try run("SELECT \(MintOperation.columns) FROM mint_operations WHERE id = ?", [.text(id)]).first.map(MintOperation.init)
    }

    public func operation(inputKey: String) throws(LedgerError) -> MintOperation? {
        try run("SELECT \(MintOperation.columns) FROM mint_operations WHERE input_key = ? AND state != 'failed'", [.text(inputKey)])
            .first.map(MintOperation.init)
    }

    /// Unspent proofs at a mint, largest first: what a send can draw on.
    public func unspentProofs(mint: String) throws(LedgerError) -> [StoredProof] {
        try run("SELECT mint, keyset_id, amount, secret, c FROM proofs WHERE mint = ? AND state = 'unspent' ORDER BY amount DESC",
                [.text(mint)]).map(StoredProof.init)
    }

    /// Value of the node's proofs per mint and state, in the mint's unit.
    public func proofTotals() throws(LedgerError) -> [(mint: String, state: String, amount: Int64)] {
        try run("SELECT mint, state, SUM(amount) AS amount FROM proofs GROUP BY mint, state ORDER BY mint, state").map { row throws(LedgerError) in
            (try row.text("mint"), try row.text("state"), try row.int("amount"))
        }
    }

    public func allProofs(state: String) throws(LedgerError) -> [StoredProof] {
        try run("SELECT mint, keyset_id, amount, secret, c FROM proofs WHERE state = ?", [.text(state)]).map(StoredProof.init)
    }

    private func pendingOperation(_ id: String) throws(LedgerError) -> MintOperation? {
        try run("SELECT \(MintOperation.columns) FROM mint_operations WHERE id = ? AND state = 'pending'", [.text(id)]).first.map(MintOperation.init)
    }

    private func insertOperation(_ op: MintOperation) throws(LedgerError) {
        let now = clock()
        do {
            try db.query("""
                INSERT INTO mint_operations(id, kind, mint, state, input_key, inputs, outputs, account_id, amount_msat, request_id, created_at, updated_at)
                VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(op.id), .text(op.kind.rawValue), .text(op.mint), .text(op.inputKey), .text(StoredProof.serialize(op.inputs)),
                      .text(op.outputs.serialized), .optional(op.accountID), .integer(op.amountMsat), .optional(op.requestID),
                      .integer(now), .integer(now)])
        } catch let error {
            if case .constraint = error { throw .duplicateOperation }
            throw .storage(error)
        }
    }

    private func insertProofs(_ proofs: [StoredProof], operationID: String) throws(LedgerError) {
        let now = clock()
        for proof in proofs {
            try run("INSERT INTO proofs(secret, mint, keyset_id, amount, c, state, operation_id, created_at) VALUES (?, ?, ?, ?, ?, 'unspent', ?, ?)",
                    [.text(proof.secret), .text(proof.mint), .text(proof.keysetID), .integer(proof.amount), .text(proof.c),
                     .text(operationID), .integer(now)])
        }
    }
}

/// A proof as the node stores it: enough to spend it again.
public struct StoredProof: Sendable, Equatable {
    public var mint: String
    public var keysetID: String
    public var amount: Int64
    public var secret: String
    public var c: String

    public init(mint: String, keysetID: String, amount: Int64, secret: String, c: String) {
        self.mint = mint
        self.keysetID = keysetID
        self.amount = amount
        self.secret = secret
        self.c = c
    }

    init(_ row: Row) throws(LedgerError) {
        self.init(mint: try row.text("mint"), keysetID: try row.text("keyset_id"), amount: try row.int("amount"), secret: try row.text("secret"), c: try row.text("c"))
    }

    var json: JSON {
        ["mint": .string(mint), "id": .string(keysetID), "amount": .int(amount), "secret": .string(secret), "C": .string(c)]
    }

    init?(json: JSON) {
        guard let mint = json["mint"]?.stringValue, let id = json["id"]?.stringValue, let amount = json["amount"]?.int64Value,
              let secret = json["secret"]?.stringValue, let c = json["C"]?.stringValue else { return nil }
        self.init(mint: mint, keysetID: id, amount: amount, secret: secret, c: c)
    }

    static func serialize(_ proofs: [StoredProof]) -> String { JSON.array(proofs.map(\.json)).serialized }

    static func parse(_ text: String) -> [StoredProof] {
        ((try? JSON.parse(text))?.arrayValue ?? []).compactMap(StoredProof.init(json:))
    }

    /// Names a set of inputs independently of order and encoding: one operation per set.
    public static func inputKey(_ proofs: [StoredProof]) -> String {
        Hex.encode(Digest.sha256(proofs.map(\.secret).sorted().joined(separator: "\n")))
    }
}

/// One exchange with a mint, as written before the mint is called.
public struct MintOperation: Sendable {
    public enum Kind: String, Sendable { case receive, send, melt }
    public enum State: String, Sendable { case pending, done, failed }

    public var id: String
    public var kind: Kind
    public var mint: String
    public var state: State = .pending
    public var inputs: [StoredProof]
    /// Our blinded outputs with their secrets and blinding factors (the wallet's own format).
    public var outputs: JSON
    public var accountID: Int64?
    public var amountMsat: Int64 = 0
    public var requestID: String?
    public var result: String?
    public var createdAt: Int64 = 0

    /// Unique among live operations. Sends and melts are named apart from receives: proofs we
    /// handed over unchanged (an exact send) must be receivable when a client pays them back.
    public var inputKey: String { kind == .receive ? StoredProof.inputKey(inputs) : "\(kind.rawValue):" + StoredProof.inputKey(inputs) }

    public init(id: String, kind: Kind, mint: String, inputs: [StoredProof], outputs: JSON, accountID: Int64?, requestID: String?) {
        self.id = id
        self.kind = kind
        self.mint = mint
        self.inputs = inputs
        self.outputs = outputs
        self.accountID = accountID
        self.requestID = requestID
    }

    static let columns = "id, kind, mint, state, inputs, outputs, account_id, amount_msat, request_id, result, created_at"

    init(_ row: Row) throws(LedgerError) {
        id = try row.text("id")
        kind = try row.value(Kind.self, "kind")
        mint = try row.text("mint")
        state = try row.value(State.self, "state")
        inputs = StoredProof.parse(try row.text("inputs"))
        outputs = (try? JSON.parse(try row.text("outputs"))) ?? .null
        accountID = try row.optionalInt("account_id")
        amountMsat = try row.int("amount_msat")
        requestID = try row.optionalText("request_id")
        result = try row.optionalText("result")
        createdAt = try row.int("created_at")
    }
}
