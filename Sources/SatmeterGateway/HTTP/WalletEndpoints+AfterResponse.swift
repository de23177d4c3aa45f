import SatmeterLedger

extension WalletEndpoints {
    /// On a node with after-response routes, a balance with requests in flight may owe more than
    /// they hold: it cannot leave as ecash until they are settled (425, retry shortly), or the
    /// bill would become the operator's loss by the holder's own hand.
    func refuseWhileBillsAreOpen(_ account: Account) throws(APIError) {
        if account.reservedMsat > 0, handler.services.pricing.config.routes.billsAfterResponse { throw .refundPending }
    }
}
