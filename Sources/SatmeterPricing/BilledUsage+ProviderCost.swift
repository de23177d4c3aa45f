import SatmeterSupport

extension BilledUsage {
    /// The provider's reported charge as an amount (USD), rounded up to the 18th decimal; nil
    /// when it reported none, or something that is not a non-negative decimal.
    var providerCost: Fixed18? {
        guard let text = providerCostUSD, let amount = try? Fixed18.parse(text, rounding: .up), !amount.isNegative
        else { return nil }
        return amount
    }
}
