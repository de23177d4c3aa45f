import SatmeterCashu
import SatmeterLedger
import SatmeterSupport
import SatmeterWallet

/// Taking a balance out as ecash, the one way both the holder (`POST /v1/wallet/withdraw`) and
/// the operator (`satmeter keys withdraw`, the admin API) do it: a `cashuB` token from the node
/// wallet, the mint's input fee paid from the balance on top, a token account's value sent
/// from the mint it came from.
struct Withdrawal {
    /// All the bitcoin there is, in sats: anything larger is not an amount.
    static let maxAmountSat: Int64 = 21_000_000 * 100_000_000

    let ledger: Ledger
    let wallet: NodeWallet

    struct Result {
        var sent: SentToken
        /// The account's balance after.
        var balanceMsat: Int64
    }

    /// `amountSat` nil: everything left after the fee. `amountField` names the amount in errors.
    func run(accountID: Int64, amountSat: Int64?, amountField: String, mint: String?, requestID: String) throws(APIError) -> Result {
        if let amountSat, amountSat <= 0 || amountSat > Self.maxAmountSat {
            throw .invalidRequest("'\(amountField)' must be a whole number of sats, at least 1")
        }
        guard wallet.config.enabled else {
            throw .serviceUnavailable("This node takes no ecash (cashu.mints is empty): there is no wallet to withdraw from.")
        }
        let account: Account?
        do { account = try ledger.accounts.account(id: accountID) } catch { throw error.apiError }
        guard let account else { throw .notFound("key \(accountID)") }
        guard account.parentID == nil else { throw .invalidRequest("A child key has no balance of its own; withdraw from its parent.") }
        if let amountSat {
            // Credit the operator granted pays for requests but is not ecash to take away (the SQL
            // refuses it too); say so plainly instead of a bare shortfall.
            let withdrawable: Int64
            do { withdrawable = try ledger.accounts.withdrawableMsat(accountID: accountID) } catch { throw error.apiError }
            if (Sat(amountSat).msat?.value ?? .max) > withdrawable, withdrawable < account.balanceMsat {
                throw .forbidden("Credit granted by the operator pays for requests but cannot be withdrawn; withdrawable now: \(Msat(withdrawable).wholeSats.value) sats.")
            }
        }
        let preferred = mint ?? TokenAccount.mint(of: account)
        let sent: SentToken?
        do {
            if let amountSat {
                sent = try wallet.send(amountSat: UInt64(amountSat), mint: preferred, accountID: accountID, requestID: requestID)
            } else {
                sent = try wallet.sendAll(accountID: accountID, mint: preferred, requestID: requestID)
            }
        } catch { throw error.apiError }
        guard let sent else { throw .invalidRequest("Nothing to withdraw: less than 1 sat is left after the mint's fee.") }
        Log.info("key \(accountID): \(sent.amountSat) sat withdrawn as ecash from \(sent.mint) (fee \(sent.feeSat) sat)")
        let balance = (try? ledger.accounts.account(id: accountID))??.balanceMsat ?? 0
        return Result(sent: sent, balanceMsat: balance)
    }
}
