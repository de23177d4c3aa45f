import SatmeterCashu

/// Ecash: which mints the node trusts, and where the operator's earnings go.
public struct CashuConfig: Sendable {
    /// Trusted mints (normalized, no trailing slash). Tokens from any other mint are refused.
    public var mints: [String] = []
    /// A Lightning address (user@domain) for automatic payouts of the operator's earnings; nil: off.
    public var receiveLightningAddress: String? = nil
    /// Earnings above this are paid out.
    public var payoutThresholdSat: Int64 = 210
    public var payoutIntervalSeconds: Int64 = 900
    public var mintTimeoutSeconds = 20

    public var enabled: Bool { !mints.isEmpty }

    public func trusts(_ mint: String) -> Bool { mints.contains(Token.normalizedMint(mint)) }

    package init(mints: [String] = [], receiveLightningAddress: String? = nil, payoutThresholdSat: Int64 = 210,
                 payoutIntervalSeconds: Int64 = 900, mintTimeoutSeconds: Int = 20) {
        self.mints = mints
        self.receiveLightningAddress = receiveLightningAddress
        self.payoutThresholdSat = payoutThresholdSat
        self.payoutIntervalSeconds = payoutIntervalSeconds
        self.mintTimeoutSeconds = mintTimeoutSeconds
    }
}

