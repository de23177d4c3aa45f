/// An exact decimal amount with 18 fractional digits, stored as a whole count of 10^-18.
///
/// Why: prices such as "0.0000025" USD per token must survive parsing, markup and conversion
/// without the drift of binary floating point. 18 digits hold any price OpenRouter publishes.
public struct Fixed18: Sendable, Hashable, Comparable, CustomStringConvertible {
    public static let fractionDigits = 18
    public static let scale: Int128 = 1_000_000_000_000_000_000

    /// The amount in units of 10^-18.
    public var raw: Int128

    public init(raw: Int128) { self.raw = raw }
    public init(_ whole: Int64) { raw = Int128(whole) * Fixed18.scale }

    public static let zero = Fixed18(raw: 0)

    public var isZero: Bool { raw == 0 }
    public var isNegative: Bool { raw < 0 }

    public static func < (lhs: Fixed18, rhs: Fixed18) -> Bool { lhs.raw < rhs.raw }

    public var description: String { decimalString() }

    public enum Rounding: Sendable { case exact, up }

    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case malformed(String)
        /// More fractional digits than the unit can hold exactly (only with `.exact`).
        case tooPrecise(String, maxFractionDigits: Int)
        case outOfRange(String)

        public var description: String {
            switch self {
            case let .malformed(text): "'\(text)' is not a decimal number"
            case let .tooPrecise(text, digits): "'\(text)' has more than \(digits) decimal places"
            case let .outOfRange(text): "'\(text)' is out of range"
            }
        }
    }

    /// Parses "35", "2.50", "0.0000025", "-1" or "2.5e-6", then moves the decimal point `shift` places
    /// to the left (6 turns a price per 1M tokens into a price per token).
    public static func parse(_ text: String, shift: Int = 0, rounding: Rounding = .exact) throws(ParseError) -> Fixed18 {
        guard let parts = DecimalText(text) else { throw .malformed(text) }
        // value = mantissa × 10^power, in units of 10^-18.
        let power = parts.exponent - parts.fractionDigits - shift + fractionDigits
        guard let magnitude = scaleMagnitude(parts.mantissa, power: power, roundUp: rounding == .up && !parts.negative)
        else { throw .outOfRange(text) }
        if magnitude.inexact && rounding == .exact {
            throw .tooPrecise(text, maxFractionDigits: max(0, fractionDigits - shift))
        }
        return Fixed18(raw: parts.negative ? -magnitude.value : magnitude.value)
    }

    /// mantissa × 10^power, with a flag when digits below 10^0 were dropped (rounded up if asked).
    private static func scaleMagnitude(_ mantissa: Int128, power: Int, roundUp: Bool) -> (value: Int128, inexact: Bool)? {
        if power >= 0 {
            guard power <= 38, let factor = pow10(power) else { return mantissa == 0 ? (0, false) : nil }
            let (product, overflow) = mantissa.multipliedReportingOverflow(by: factor)
            return overflow ? nil : (product, false)
        }
        guard -power <= 38, let divisor = pow10(-power) else { return (mantissa == 0 ? 0 : (roundUp ? 1 : 0), mantissa != 0) }
        let (quotient, remainder) = mantissa.quotientAndRemainder(dividingBy: divisor)
        return (remainder != 0 && roundUp ? quotient + 1 : quotient, remainder != 0)
    }

    static func pow10(_ n: Int) -> Int128? {
        guard n >= 0, n <= 38 else { return nil }
        var value: Int128 = 1
        for _ in 0..<n { value *= 10 }
        return value
    }

    /// The amount × 10^k, for display in other units (k = 6: per 1M tokens); nil on overflow.
    public func timesPow10(_ k: Int) -> Fixed18? {
        guard let factor = Fixed18.pow10(k) else { return nil }
        let (product, overflow) = raw.multipliedReportingOverflow(by: factor)
        return overflow ? nil : Fixed18(raw: product)
    }

    /// The amount × ppm / 1,000,000, rounded up to 10^-18 (markups never round in the buyer's favour);
    /// `roundUp: false` rounds down, for caps that must not be exceeded.
    public func timesPPM(_ ppm: Int64, roundUp: Bool = true) -> Fixed18? {
        guard raw >= 0, ppm >= 0 else { return nil }
        let value = roundUp
            ? WideMath.mulDivCeil(UInt128(raw), UInt128(ppm), 1_000_000)
            : WideMath.mulDivFloor(UInt128(raw), UInt128(ppm), 1_000_000)
        guard let value, value <= UInt128(Int128.max) else { return nil }
        return Fixed18(raw: Int128(value))
    }

    /// "2.5", "0.0000025", "35"; at least `minFractionDigits` decimals ("2.50" with 2).
    public func decimalString(minFractionDigits: Int = 0) -> String {
        let magnitude = raw.magnitude
        let scale = UInt128(Fixed18.scale)
        // Through UInt64 where the value fits (the fraction always does): printing a 128-bit
        // integer is far slower, and prices are formatted on every paid request.
        let wholePart = magnitude / scale
        let whole = UInt64(exactly: wholePart).map { String($0) } ?? String(wholePart)
        let digits = Array(String(UInt64(magnitude % scale)).utf8)
        var fraction = [UInt8](repeating: UInt8(ascii: "0"), count: max(0, Fixed18.fractionDigits - digits.count)) + digits
        while fraction.count > minFractionDigits, fraction.last == UInt8(ascii: "0") { fraction.removeLast() }
        return (raw < 0 ? "-" : "") + whole + (fraction.isEmpty ? "" : "." + String(decoding: fraction, as: UTF8.self))
    }
}

/// The pieces of a decimal literal: optional sign, digits with an optional point, optional exponent.
private struct DecimalText {
    var negative = false
    var mantissa: Int128 = 0
    var fractionDigits = 0
    var exponent = 0

    init?(_ text: String) {
        var bytes = Array(text.utf8)[...]
        if bytes.first == UInt8(ascii: "-") { negative = true; bytes = bytes.dropFirst() }
        var digits = 0
        var seenPoint = false
        while let b = bytes.first, b != UInt8(ascii: "e"), b != UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if b == UInt8(ascii: "."), !seenPoint { seenPoint = true; continue }
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) else { return nil }
            digits += 1
            // Leading zeros cost nothing; more than 38 significant digits cannot be held.
            if mantissa == 0, b == UInt8(ascii: "0") { if seenPoint { fractionDigits += 1 }; continue }
            let (times10, o1) = mantissa.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int128(b - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            mantissa = sum
            if seenPoint { fractionDigits += 1 }
        }
        guard digits > 0 else { return nil }
        if !bytes.isEmpty {
            bytes = bytes.dropFirst()
            var sign = 1
            if bytes.first == UInt8(ascii: "-") { sign = -1; bytes = bytes.dropFirst() }
            else if bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
            guard !bytes.isEmpty, bytes.count <= 4, let e = Int(String(decoding: bytes, as: UTF8.self)) else { return nil }
            exponent = sign * e
        }
    }
}

/// Integer helpers for products that can exceed 128 bits before the division brings them back.
public enum WideMath {
    /// ceil(a × b / d) computed over 256 bits; nil when d is 0 or the quotient does not fit in 128 bits.
    public static func mulDivCeil(_ a: UInt128, _ b: UInt128, _ d: UInt128) -> UInt128? {
        guard let (quotient, remainder) = mulDiv(a, b, d) else { return nil }
        if remainder == 0 { return quotient }
        return quotient == UInt128.max ? nil : quotient + 1
    }

    /// floor(a × b / d), likewise.
    public static func mulDivFloor(_ a: UInt128, _ b: UInt128, _ d: UInt128) -> UInt128? {
        mulDiv(a, b, d)?.quotient
    }

    private static func mulDiv(_ a: UInt128, _ b: UInt128, _ d: UInt128) -> (quotient: UInt128, remainder: UInt128)? {
        guard d > 0 else { return nil }
        let product = a.multipliedFullWidth(by: b)
        guard product.high < d else { return nil }
        return d.dividingFullWidth(product)
    }

    /// a + b, stopping at Int64.max instead of trapping.
    public static func saturatingAdd(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int64.max : sum
    }
}
