/// Balance endpoints for key holders.
struct WalletEndpoints {
    let handler: GatewayHandler
    let exchange: Exchange

    /// `GET /v1/wallet/balance`: amounts in msats.
    func balance() throws(APIError) {
        let account = try handler.authenticate(exchange)
        exchange.send(status: 200, json: [
            "balance": .int(account.balanceMsat),
            "reserved": .int(account.reservedMsat),
            "total_deposited": .int(account.totalDepositedMsat),
            "total_spent": .int(account.totalSpentMsat),
            "last_used": account.lastUsedAt.map { .int($0) } ?? .null,
            "unit": "msat",
        ])
    }
}
