/// The currency a price is written in. Sat prices need no BTC price; USD prices do.
public enum Currency: String, Sendable, Equatable {
    case usd
    case sat
}

/// 1 BTC = 100,000,000 sat = 100,000,000,000 msat.
public enum BTCUnits {
    public static let satPerBTC: Int64 = 100_000_000
    public static let msatPerSat: Int64 = 1_000
    public static let msatPerBTC: Int64 = 100_000_000_000
}

/// Turns "units × price per unit" into msats, rounding up to the msat.
///
/// msat = ceil(units × raw / divisor), where raw is the price in 10^-18 of its currency:
/// - sat:  msat = sats × 1000 = units × raw × 1000 / 10^18          → divisor 10^15
/// - USD:  msat = usd × 10^11 / (cents / 100) = units × raw / (cents × 10^5) → divisor cents × 10^5
public struct MsatConversion: Sendable, Equatable {
    public let currency: Currency
    /// The BTC price this conversion froze, in US cents; nil for sats.
    public let centsPerBTC: Int64?
    let divisor: UInt128

    public static let sats = MsatConversion(currency: .sat, centsPerBTC: nil, divisor: 1_000_000_000_000_000)

    public static func usd(centsPerBTC: Int64) -> MsatConversion {
        precondition(centsPerBTC > 0, "BTC price must be positive")
        return MsatConversion(currency: .usd, centsPerBTC: centsPerBTC, divisor: UInt128(centsPerBTC) * 100_000)
    }

    /// The cost of `units` at `rate` per unit in msats, rounded up; Int64.max when absurdly large.
    public func msat(units: Int64, at rate: Fixed18) -> Int64 {
        guard units > 0, rate.raw > 0 else { return 0 }
        guard let value = WideMath.mulDivCeil(UInt128(units), UInt128(rate.raw), divisor),
              value <= UInt128(Int64.max)
        else { return Int64.max }
        return Int64(value)
    }
}

/// Conversions between sat and USD amounts at a BTC price, rounded up (used for display and bounds).
public enum CurrencyExchange {
    /// usd = sat × cents / 10^10.
    public static func usd(fromSat amount: Fixed18, centsPerBTC: Int64) -> Fixed18? {
        scale(amount, by: UInt128(centsPerBTC), over: 10_000_000_000)
    }

    /// sat = usd × 10^10 / cents.
    public static func sat(fromUSD amount: Fixed18, centsPerBTC: Int64) -> Fixed18? {
        scale(amount, by: 10_000_000_000, over: UInt128(centsPerBTC))
    }

    private static func scale(_ amount: Fixed18, by numerator: UInt128, over denominator: UInt128) -> Fixed18? {
        guard amount.raw >= 0,
              let value = WideMath.mulDivCeil(UInt128(amount.raw), numerator, denominator),
              value <= UInt128(Int128.max)
        else { return nil }
        return Fixed18(raw: Int128(value))
    }

    /// "$97,000.12" from cents.
    public static func dollars(cents: Int64) -> String {
        var whole = String(cents / 100)
        var grouped = ""
        while whole.count > 3 {
            grouped = "," + whole.suffix(3) + grouped
            whole.removeLast(3)
        }
        let fraction = cents % 100
        return "$" + whole + grouped + "." + (fraction < 10 ? "0" : "") + String(fraction)
    }
}
