/// Money in the ledger's unit, millisatoshis. Arithmetic is checked: a result that does not fit
/// is nil (the caller refuses the request or the mint's answer), never a trap that kills a worker
/// and never a wrap-around.
public struct Msat: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: Int64

    public init(_ value: Int64) { self.value = value }

    public static let zero = Msat(0)

    public static func < (a: Msat, b: Msat) -> Bool { a.value < b.value }

    public func adding(_ other: Msat) -> Msat? {
        let (sum, overflow) = value.addingReportingOverflow(other.value)
        return overflow ? nil : Msat(sum)
    }

    public func subtracting(_ other: Msat) -> Msat? {
        let (difference, overflow) = value.subtractingReportingOverflow(other.value)
        return overflow ? nil : Msat(difference)
    }

    public func multiplied(by factor: Int64) -> Msat? {
        let (product, overflow) = value.multipliedReportingOverflow(by: factor)
        return overflow ? nil : Msat(product)
    }

    /// Whole sats, the leftover msats dropped (what can be paid out in ecash).
    public var wholeSats: Sat { Sat(value / Sat.msatPerSat) }

    /// Sats rounded up (what must be held to cover this amount). Never overflows.
    public var satsRoundedUp: Sat {
        Sat(value / Sat.msatPerSat + (value % Sat.msatPerSat > 0 ? 1 : 0))
    }

    public var description: String { "\(value) msat" }
}

/// Whole satoshis: what Cashu tokens, mint quotes and Lightning invoices count in.
public struct Sat: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let msatPerSat: Int64 = 1_000
    /// The most sats that still fit in the ledger as msats.
    public static let maxLedgerValue = Sat(Int64.max / msatPerSat)

    public let value: Int64

    public init(_ value: Int64) { self.value = value }

    /// An amount a mint or a token states (unsigned); nil past what the ledger can hold.
    public init?(exactly amount: UInt64) {
        guard amount <= UInt64(Self.maxLedgerValue.value) else { return nil }
        value = Int64(amount)
    }

    public static func < (a: Sat, b: Sat) -> Bool { a.value < b.value }

    /// The same amount in msats; nil when it does not fit.
    public var msat: Msat? { Msat(value).multiplied(by: Self.msatPerSat) }

    public func adding(_ other: Sat) -> Sat? {
        let (sum, overflow) = value.addingReportingOverflow(other.value)
        return overflow ? nil : Sat(sum)
    }

    public var description: String { "\(value) sat" }
}
