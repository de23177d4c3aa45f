import Glibc
import SatmeterCashu
import SatmeterLedger
import SatmeterSupport

/// The node's own Cashu wallet: receives clients' tokens by swapping them for fresh proofs,
/// and sends ecash (change, withdrawals) from the proofs it holds.
///
/// Every swap is written to the ledger (`mint_operations`) before the mint is called, with our
/// outputs' secrets and blinding factors, so an answer lost to a crash or a timeout can be
/// recovered: the inputs' state tells whether the swap happened (NUT-07), and the mint re-issues
/// the signatures for our outputs (NUT-09 restore).
package final class NodeWallet {
    let ledger: Ledger
    package let config: CashuConfig
    let keysets: KeysetCache
    let http: any HTTPClient

    package init(ledger: Ledger, config: CashuConfig, keysets: KeysetCache, http: any HTTPClient) {
        self.ledger = ledger
        self.config = config
        self.keysets = keysets
        self.http = http
    }

    package static let unit = "sat"

    func client(_ mint: String) -> MintClient {
        let session = http
        return MintClient(url: mint, timeout: Double(config.mintTimeoutSeconds)) { request throws(HTTPFetchError) in try session.send(request) }
    }

    // MARK: Receiving

    /// What a token is worth to us once received: its value less the mint's input fee.
    package func netValue(of token: Token) throws(WalletError) -> (total: UInt64, fee: UInt64) {
        try checkAcceptable(token)
        // Every amount below becomes Int64 msat: refuse what cannot, whoever the caller is.
        do { try token.checkBounds() } catch { throw .invalidToken(error.description) }
        let mint = client(token.mint)
        let infos = try mintCall { () throws(MintError) in try keysets.infos(mint) }
        let total: UInt64
        do { total = try token.totalAmount() } catch { throw .invalidToken("\(error)") }
        var ppk: [UInt64] = []
        for proof in token.proofs {
            guard let info = infos.first(where: { $0.id == proof.keysetID || ($0.id.count == 66 && $0.id.hasPrefix(proof.keysetID)) }) else {
                throw .invalidToken("unknown keyset \(proof.keysetID) at \(token.mint)")
            }
            ppk.append(info.inputFeePPK)
        }
        let fee: UInt64
        do { fee = try Keyset.inputFee(ppkPerInput: ppk) } catch { throw .invalidToken("\(error)") }
        guard total > fee else { throw .valueTooLow(valueSat: total, feeSat: fee) }
        return (total, fee)
    }

    /// Swaps the token's proofs for our own and credits `accountID` (if given) with the net value.
    /// Returns the credited msat. A token already received (or being received) is refused.
    @discardableResult
    package func receive(_ token: Token, creditAccountID: Int64?, requestID: String?) throws(WalletError) -> Int64 {
        let (total, fee) = try netValue(of: token)
        let mint = client(token.mint)
        let outputs = try makeOutputs(mint: mint, amounts: Keyset.splitAmount(total - fee), role: "keep")
        let inputs = token.proofs.map { StoredProof(mint: token.mint, keysetID: $0.keysetID, amount: Int64($0.amount), secret: $0.secret, c: $0.C) }
        let operation = MintOperation(id: RequestID.generate(), kind: .receive, mint: token.mint, inputs: inputs,
                                      outputs: .array(outputs.map(\.json)), accountID: creditAccountID, requestID: requestID)
        do {
            try ledger.wallet.beginReceive(operation)
        } catch {
            if error == .duplicateOperation { throw try settleDuplicate(inputKey: operation.inputKey) }
            throw .storage("\(error)")
        }
        let signatures: [BlindSignature]
        do {
            signatures = try mint.swap(inputs: token.proofs, outputs: outputs.map(\.message))
        } catch {
            if error.isAmbiguous {
                // Ours alone, so it can be settled right here if the mint answers a state check.
                switch settleNow(operation) {
                case .done?: return (try? ledger.wallet.operation(id: operation.id))?.amountMsat ?? 0
                case .failed?: throw .mintUnavailable("\(error)")
                default:
                    Log.warning("receive \(operation.id): \(error); left pending for recovery")
                    throw .mintUnavailable("\(error)")
                }
            }
            if error.isAlreadySpent {
                switch afterSpentInputs(operation) {
                case .done?: return (try? ledger.wallet.operation(id: operation.id))?.amountMsat ?? 0
                case .pending?, nil: throw .mintUnavailable("\(error)")
                case .failed?: break
                }
            }
            try? ledger.wallet.failOperation(operationID: operation.id, reason: "\(error)")
            if error.isAlreadySpent { throw .alreadySpent }
            if case .unreachable = error { throw .mintUnavailable("\(error)") }
            throw .mintRejected("\(error)")
        }
        let credit = try Self.msat(total - fee)
        try complete(operation, outputs: outputs, signatures: signatures, creditMsat: credit)
        return credit
    }

    /// The same inputs were seen before: finish an abandoned attempt if there is one, else the
    /// token is spent (to us). A recent pending attempt may still be running on another thread,
    /// and must be left alone.
    private func settleDuplicate(inputKey: String) throws(WalletError) -> WalletError {
        guard let existing = try? ledger.wallet.operation(inputKey: inputKey) else { return .alreadySpent }
        guard existing.state == .pending else { return .alreadySpent }
        if Clock.now() - existing.createdAt >= abandonedAfterSeconds { recover(existing) }
        return .inFlight
    }

    /// An operation pending this long has no thread working on it any more (every mint call is
    /// bounded by the mint timeout), so recovery may take it over.
    var abandonedAfterSeconds: Int64 { Int64(config.mintTimeoutSeconds) * 2 + 10 }

    // MARK: Sending

    /// Sends `amountSat` from `accountID`'s balance as a token from `mint` (or whichever trusted
    /// mint holds enough). The account pays the mint's input fee on top; nothing moves on failure.
    package func send(amountSat: UInt64, mint preferred: String?, accountID: Int64, requestID: String?) throws(WalletError) -> SentToken {
        guard amountSat > 0 else { throw .invalidAmount }
        for attempt in 0..<10 {
            let plan = try planSend(amountSat: amountSat, preferredMint: preferred)
            do {
                return try execute(plan, accountID: accountID, requestID: requestID)
            } catch {
                // Another thread took these proofs, or the mint said they were spent: plan again,
                // after a short random pause so racing senders stop picking the same proofs.
                guard error == .retry else { throw error }
                usleep(UInt32.random(in: 1_000...5_000) * UInt32(attempt + 1))
            }
        }
        throw WalletError.retry  // 503: the wallet is busy
    }

    /// Sends as much of the account's balance as possible after fees (change, refunds).
    /// Returns nil when less than one sat (after fees) is left.
    package func sendAll(accountID: Int64, mint preferred: String?, requestID: String?) throws(WalletError) -> SentToken? {
        // Only what may leave as ecash: granted credit stays (see `AccountStore+Solvency`).
        guard let withdrawable = try? ledger.accounts.withdrawableMsat(accountID: accountID) else { throw .storage("account missing") }
        let budget = UInt64(max(0, Msat(withdrawable).wholeSats.value))
        guard budget > 0 else { return nil }
        var amount = budget
        for _ in 0..<4 {
            let plan = try planSend(amountSat: amount, preferredMint: preferred)
            if amount + plan.fee <= budget { return try send(amountSat: amount, mint: plan.mint, accountID: accountID, requestID: requestID) }
            guard budget > plan.fee else { return nil }
            amount = budget - plan.fee
        }
        return nil
    }

    struct SendPlan {
        var mint: String
        var inputs: [StoredProof]
        var fee: UInt64
        var amount: UInt64
        /// The inputs add up to exactly the amount: hand them over without a swap (and without a fee).
        var exact: Bool { fee == 0 && UInt64(inputs.reduce(0) { $0 + $1.amount }) == amount }
    }

    func planSend(amountSat: UInt64, preferredMint: String?) throws(WalletError) -> SendPlan {
        let mints = preferredMint.map { [Token.normalizedMint($0)] } ?? config.mints
        for mint in mints {
            guard config.trusts(mint) else { throw .untrustedMint(mint) }
            let proofs: [StoredProof]
            do { proofs = try ledger.wallet.unspentProofs(mint: mint) } catch { throw .storage("\(error)") }
            // Exact hand-over first: our proofs are powers of two, so the greedy pick often fits.
            var remaining = Int64(amountSat)
            var exact: [StoredProof] = []
            for proof in proofs where proof.amount <= remaining {
                exact.append(proof)
                remaining -= proof.amount
                if remaining == 0 { break }
            }
            if remaining == 0 { return SendPlan(mint: mint, inputs: exact, fee: 0, amount: amountSat) }
            // Otherwise swap: inputs largest first until they cover the amount and their own fee.
            let infos = try mintCall { () throws(MintError) in try keysets.infos(client(mint)) }
            var chosen: [StoredProof] = []
            var sum: UInt64 = 0
            var ppk: [UInt64] = []
            for proof in proofs {
                chosen.append(proof)
                sum += UInt64(proof.amount)
                ppk.append(infos.first { $0.id == proof.keysetID }?.inputFeePPK ?? 0)
                let fee = (try? Keyset.inputFee(ppkPerInput: ppk)) ?? UInt64.max / 4
                if sum >= amountSat + fee { return SendPlan(mint: mint, inputs: chosen, fee: fee, amount: amountSat) }
            }
        }
        throw .insufficientFunds
    }

    private func execute(_ plan: SendPlan, accountID: Int64, requestID: String?) throws(WalletError) -> SentToken {
        let mint = client(plan.mint)
        let inputProofs = try plan.inputs.map { stored throws(WalletError) in try proof(from: stored) }
        if plan.exact {
            // Make sure the proofs are still good before handing them to someone else.
            let states = try mintCall { () throws(MintError) in try mint.checkState(ys: inputProofs.map { $0.Y.hex }) }
            let spent = zip(plan.inputs, states).filter { $0.1 != .unspent }.map(\.0.secret)
            if !spent.isEmpty {
                try? ledger.wallet.markSpent(secrets: spent)
                throw .retry
            }
            let token = Token(mint: plan.mint, unit: Self.unit, proofs: inputProofs).serialized()
            let operation = MintOperation(id: RequestID.generate(), kind: .send, mint: plan.mint, inputs: plan.inputs, outputs: [],
                                          accountID: accountID, requestID: requestID)
            try begin(operation, debitMsat: try Self.msat(plan.amount))
            do { try ledger.wallet.completeSend(operationID: operation.id, keptProofs: [], result: token) } catch { throw .storage("\(error)") }
            return SentToken(token: token, amountSat: plan.amount, feeSat: 0, mint: plan.mint)
        }
        let total = UInt64(plan.inputs.reduce(0) { $0 + $1.amount })
        let sendOutputs = try makeOutputs(mint: mint, amounts: Keyset.splitAmount(plan.amount), role: "send")
        let keepOutputs = try makeOutputs(mint: mint, amounts: Keyset.splitAmount(total - plan.amount - plan.fee), role: "keep")
        let outputs = sendOutputs + keepOutputs
        let operation = MintOperation(id: RequestID.generate(), kind: .send, mint: plan.mint, inputs: plan.inputs,
                                      outputs: .array(outputs.map(\.json)), accountID: accountID, requestID: requestID)
        try begin(operation, debitMsat: try Self.msat(plan.amount + plan.fee))
        let signatures: [BlindSignature]
        do {
            signatures = try mint.swap(inputs: inputProofs, outputs: outputs.map(\.message))
        } catch {
            if error.isAmbiguous {
                if settleNow(operation) == .done, let done = try? ledger.wallet.operation(id: operation.id), let token = done.result {
                    return SentToken(token: token, amountSat: plan.amount, feeSat: plan.fee, mint: plan.mint)
                }
                Log.warning("send \(operation.id): \(error); left pending for recovery (or refunded)")
                throw .mintUnavailable("\(error)")
            }
            if error.isAlreadySpent {
                switch afterSpentInputs(operation) {
                case .done?:
                    let token = (try? ledger.wallet.operation(id: operation.id))?.result ?? ""
                    return SentToken(token: token, amountSat: plan.amount, feeSat: plan.fee, mint: plan.mint)
                case .pending?, nil: throw .mintUnavailable("\(error)")
                case .failed?: break
                }
            }
            try? ledger.wallet.failOperation(operationID: operation.id, reason: "\(error)")
            if error.isAlreadySpent {
                try? ledger.wallet.markSpent(secrets: plan.inputs.map(\.secret))
                throw .retry
            }
            if case .unreachable = error { throw .mintUnavailable("\(error)") }
            throw .mintRejected("\(error)")
        }
        let result = try complete(operation, outputs: outputs, signatures: signatures, creditMsat: 0)
        return SentToken(token: result ?? "", amountSat: plan.amount, feeSat: plan.fee, mint: plan.mint)
    }

    private func begin(_ operation: MintOperation, debitMsat: Int64) throws(WalletError) {
        do { try ledger.wallet.beginSend(operation, debitMsat: debitMsat) } catch {
            switch error {
            case let .insufficientBalance(available, required): throw .insufficientBalance(availableMsat: available, requiredMsat: required)
            case .proofsUnavailable, .duplicateOperation: throw .retry
            default: throw .storage("\(error)")
            }
        }
    }

    // MARK: Completing and recovering

    /// Unblinds the mint's signatures, then in one transaction stores our kept proofs, records the
    /// token for sent outputs, and credits the account (receives). Returns the sent token, if any.
    @discardableResult
    private func complete(_ operation: MintOperation, outputs: [PreparedOutput], signatures: [BlindSignature], creditMsat: Int64) throws(WalletError) -> String? {
        guard signatures.count == outputs.count else { throw .mintRejected("the mint returned \(signatures.count) signatures for \(outputs.count) outputs") }
        var kept: [StoredProof] = []
        var sent: [Proof] = []
        for (output, signature) in zip(outputs, signatures) {
            let keyset = try mintCall { () throws(MintError) in try keysets.keyset(client(operation.mint), id: signature.keysetID) }
            guard let mintKey = keyset.keys[signature.amount], signature.amount == output.amount,
                  let blindSig = try? PublicKey(hex: signature.signature),
                  let r = try? Scalar(hex: output.blindingFactor),
                  let c = try? BDHKE.unblind(signature: blindSig, blindingFactor: r, mintKey: mintKey)
            else { throw .mintRejected("a signature did not match its output") }
            if let dleq = signature.dleq, let e = try? Scalar(hex: dleq.e), let s = try? Scalar(hex: dleq.s),
               let b = try? PublicKey(hex: output.blinded),
               !DLEQ.verify(DLEQ.Challenge(e: e, s: s), mintKey: mintKey, blinded: b, signature: blindSig) {
                Log.error("mint \(operation.mint) gave a signature whose DLEQ proof fails (operation \(operation.id))")
            }
            let stored = StoredProof(mint: operation.mint, keysetID: signature.keysetID, amount: Int64(output.amount), secret: output.secret, c: c.hex)
            if output.role == "send" { sent.append(try proof(from: stored)) } else { kept.append(stored) }
        }
        do {
            switch operation.kind {
            case .receive:
                try ledger.wallet.completeReceive(operationID: operation.id, newProofs: kept, creditAccountID: nil, creditMsat: creditMsat)
                return nil
            case .send, .melt:
                let token = sent.isEmpty ? "" : Token(mint: operation.mint, unit: Self.unit, proofs: sent).serialized()
                try ledger.wallet.completeSend(operationID: operation.id, keptProofs: kept, result: token)
                return token
            }
        } catch {
            throw .storage("\(error)")
        }
    }

    /// A swap refused because its inputs are spent (or pending) may have spent them itself: HTTP
    /// clients send a request again when a reused connection dies before the answer (libcurl
    /// does, POSTs too), and the second delivery finds the first one's work done. Recovery asks
    /// the mint for our outputs' signatures (NUT-09): done, the swap was ours and is complete;
    /// failed, someone else spent the inputs; pending, the mint cannot say yet (left to recovery).
    private func afterSpentInputs(_ operation: MintOperation) -> MintOperation.State? {
        let state = settleNow(operation)
        if state == .pending { Log.warning("\(operation.kind.rawValue) \(operation.id): inputs spent or pending; left pending for recovery") }
        return state
    }

    /// Tries to close an operation this thread started and lost the answer for; its state after.
    private func settleNow(_ operation: MintOperation) -> MintOperation.State? {
        recover(operation)
        return (try? ledger.wallet.operation(id: operation.id))?.state
    }

    /// Finishes every operation left pending (crash, timeout, mint down). Returns how many closed.
    @discardableResult
    package func recoverPending() -> Int {
        guard let pending = try? ledger.wallet.pendingOperations() else { return 0 }
        let cutoff = Clock.now() - abandonedAfterSeconds
        var closed = 0
        for operation in pending where operation.createdAt <= cutoff && recover(operation) { closed += 1 }
        return closed
    }

    /// One pending operation: did the mint spend its inputs? If not, it never happened: fail it
    /// (refunding a send). If so, ask the mint for our outputs' signatures again and complete it.
    @discardableResult
    func recover(_ operation: MintOperation) -> Bool {
        guard operation.kind != .melt else { return recoverMelt(operation) }
        let mint = client(operation.mint)
        let outputs = PreparedOutput.parse(operation.outputs)
        do {
            let ys = try operation.inputs.map { stored throws(WalletError) in try proof(from: stored).Y.hex }
            let states = try mint.checkState(ys: ys)
            if states.allSatisfy({ $0 == .unspent }) {
                try ledger.wallet.failOperation(operationID: operation.id, reason: "recovered: the mint never performed it")
                Log.info("recovered \(operation.kind.rawValue) \(operation.id): not performed, closed")
                return true
            }
            if states.contains(.pending) { return false }
            if outputs.isEmpty, operation.kind == .send {
                // An exact hand-over: nothing to restore; the inputs left with the token.
                try ledger.wallet.completeSend(operationID: operation.id, keptProofs: [], result: operation.result ?? "")
                return true
            }
            let restored = try mint.restore(outputs: outputs.map(\.message))
            let byBlinded = Dictionary(restored.map { ($0.0.blinded, $0.1) }, uniquingKeysWith: { first, _ in first })
            let signatures = outputs.compactMap { byBlinded[$0.blinded] }
            guard signatures.count == outputs.count else {
                // The inputs were spent, but not for our outputs: someone else spent the token first.
                try ledger.wallet.failOperation(operationID: operation.id, reason: "inputs spent elsewhere")
                Log.warning("recovered \(operation.kind.rawValue) \(operation.id): inputs were spent elsewhere")
                return true
            }
            let credit = operation.kind == .receive ? try Self.msat(outputs.reduce(0) { $0 + $1.amount }) : 0
            var completing = operation
            completing.accountID = operation.accountID
            try complete(completing, outputs: outputs, signatures: signatures, creditMsat: credit)
            Log.info("recovered \(operation.kind.rawValue) \(operation.id): completed from the mint's signatures")
            return true
        } catch {
            Log.warning("recovery of \(operation.id) postponed: \(error)")
            return false
        }
    }

    // MARK: Helpers

    private func checkAcceptable(_ token: Token) throws(WalletError) {
        guard config.trusts(token.mint) else { throw .untrustedMint(token.mint) }
        guard token.unit == Self.unit else { throw .unsupportedUnit(token.unit) }
        guard token.proofs.allSatisfy({ $0.witness == nil }) else { throw .invalidToken("locked (P2PK/HTLC) proofs are not accepted") }
    }

    func makeOutputs(mint: MintClient, amounts: [UInt64], role: String) throws(WalletError) -> [PreparedOutput] {
        let infos = try mintCall { () throws(MintError) in try keysets.infos(mint) }
        guard let active = infos.first(where: { $0.active && $0.unit == Self.unit }) else {
            throw .mintRejected("the mint has no active \(Self.unit) keyset")
        }
        return try amounts.map { amount throws(WalletError) in
            let secret = BDHKE.randomSecret()
            guard let blinded = try? BDHKE.blind(secret: secret) else { throw .storage("blinding failed") }
            return PreparedOutput(amount: amount, keysetID: active.id, secret: secret, blindingFactor: blinded.blindingFactor.hex,
                                  blinded: blinded.blinded.hex, role: role)
        }
    }

    func proof(from stored: StoredProof) throws(WalletError) -> Proof {
        do { return try Proof(amount: UInt64(stored.amount), keysetID: stored.keysetID, secret: stored.secret, C: stored.c) } catch {
            throw .storage("a stored proof is malformed: \(error)")
        }
    }

    /// Sats as ledger msats; an amount that does not fit is refused, never trapped on.
    static func msat(_ sats: UInt64) throws(WalletError) -> Int64 {
        guard let sats = Sat(exactly: sats), let amount = sats.msat else { throw .invalidAmount }
        return amount.value
    }

    func mintCall<T>(_ body: () throws(MintError) -> T) throws(WalletError) -> T {
        do { return try body() } catch {
            switch error {
            case .rejected: throw .mintRejected("\(error)")
            default: throw .mintUnavailable("\(error)")
            }
        }
    }
}

/// An output we prepared: kept with its secret and blinding factor until it is signed.
struct PreparedOutput: Sendable, Equatable {
    var amount: UInt64
    var keysetID: String
    var secret: String
    var blindingFactor: String
    var blinded: String
    /// `keep` (ours) or `send` (goes into the token we hand out).
    var role: String

    var message: BlindedMessage { BlindedMessage(amount: amount, keysetID: keysetID, blinded: blinded) }

    var json: JSON {
        ["amount": .int(Int64(amount)), "id": .string(keysetID), "secret": .string(secret), "r": .string(blindingFactor),
         "B_": .string(blinded), "role": .string(role)]
    }

    static func parse(_ json: JSON) -> [PreparedOutput] {
        (json.arrayValue ?? []).compactMap { item in
            guard let amount = item["amount"]?.int64Value, let id = item["id"]?.stringValue, let secret = item["secret"]?.stringValue,
                  let r = item["r"]?.stringValue, let b = item["B_"]?.stringValue, let role = item["role"]?.stringValue else { return nil }
            return PreparedOutput(amount: UInt64(amount), keysetID: id, secret: secret, blindingFactor: r, blinded: b, role: role)
        }
    }
}

public struct SentToken: Sendable, Equatable {
    public var token: String
    public var amountSat: UInt64
    public var feeSat: UInt64
    public var mint: String
}

package enum WalletError: Error, Equatable {
    case untrustedMint(String)
    case unsupportedUnit(String)
    case invalidToken(String)
    case alreadySpent
    /// The same token is being received right now (or its receive is being recovered).
    case inFlight
    case valueTooLow(valueSat: UInt64, feeSat: UInt64)
    case mintUnavailable(String)
    case mintRejected(String)
    case insufficientBalance(availableMsat: Int64, requiredMsat: Int64)
    case insufficientFunds
    case invalidAmount
    case storage(String)
    /// Internal: plan the send again.
    case retry
}
