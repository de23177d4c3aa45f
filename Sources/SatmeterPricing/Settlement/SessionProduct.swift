import SatmeterSupport

/// A flat-priced window: the first request of a key in a window buys it at `price`; later
/// requests of that key in the same window, on routes or rules naming the same product, cost
/// nothing more, up to the caps. A request over a cap is refused (429), never metered.
///
///     session: { name: night-batch, price: 500, per: "1h", max_requests: 200, max_tokens: 2000000 }
///     session: { name: overnight, price: "$1", per: "22:00-06:00", max_requests: 1000 }
public struct SessionProduct: Sendable, Equatable {
    /// The ledger's name for it: windows are bought per key, product and window start.
    public var name: String
    /// A per-request price (`sats_per_request` or `usd_per_request`): the window's flat price.
    public var price: ModelPrice
    public var period: SessionPeriod
    public var maxRequests: Int64?
    public var maxTokens: Int64?

    /// Caps larger than these are config errors: a window is meant to bound the operator's cost.
    public static let maxRequestsCeiling: Int64 = 10_000_000
    public static let maxTokensCeiling: Int64 = 1_000_000_000_000

    /// The window `unix` falls in, or nil when the product does not apply then (outside a
    /// time-of-day window): such a request is priced as if the product were not there.
    public func window(at unix: Int64) -> SessionWindowSpan? {
        switch period {
        case let .every(seconds):
            let start = unix >= 0 ? unix / seconds * seconds : (unix - seconds + 1) / seconds * seconds
            return SessionWindowSpan(start: start, end: start + seconds)
        case let .daily(startMinute, endMinute):
            guard TimeWindow.contains(minutes: (startMinute, endMinute), at: unix) else { return nil }
            let day = unix >= 0 ? unix / 86_400 * 86_400 : (unix - 86_399) / 86_400 * 86_400
            let minute = (unix - day) / 60
            let opensToday = startMinute < endMinute || minute >= startMinute
            let start = (opensToday ? day : day - 86_400) + startMinute * 60
            let length = (endMinute - startMinute + 1440) % 1440 * 60
            return SessionWindowSpan(start: start, end: start + (length == 0 ? 86_400 : length))
        }
    }
}

/// How long a window lasts: fixed UTC-aligned periods, or a daily time-of-day window.
public enum SessionPeriod: Sendable, Equatable {
    /// "30m", "1h", "1d": windows aligned to the epoch (clock hours, UTC days).
    case every(seconds: Int64)
    /// "22:00-06:00": one window per night, from its start to its end.
    case daily(startMinute: Int64, endMinute: Int64)

    /// nil when the text is neither form (or the period is under a minute or over 31 days).
    public static func parse(_ text: String) -> SessionPeriod? {
        if let window = TimeWindow.minutes(text) { return .daily(startMinute: window.start % 1440, endMinute: window.end % 1440) }
        guard let unit = text.last, let count = Int64(text.dropLast()), count > 0, count <= 744 else { return nil }
        let seconds: Int64? = switch unit {
        case "m": count * 60
        case "h": count * 3600
        case "d": count * 86_400
        default: nil
        }
        guard let seconds, seconds >= 60, seconds <= 31 * 86_400 else { return nil }
        return .every(seconds: seconds)
    }
}

public struct SessionWindowSpan: Sendable, Equatable {
    public var start: Int64
    public var end: Int64
}

/// A session product as quoted for one request: its window and the price in msat, converted
/// at the quote's BTC price.
public struct SessionQuote: Sendable {
    public var product: SessionProduct
    public var window: SessionWindowSpan
    public var priceMsat: Int64
}
