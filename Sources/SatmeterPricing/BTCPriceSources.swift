import SatmeterSupport

/// The response format of a BTC/USD price source.
public enum BTCPriceShape: String, Sendable, Equatable, CaseIterable {
    /// `{"error":[],"result":{"XXBTZUSD":{"c":["97000.1","0.01"],…}}}`: `c[0]` of the single result.
    case kraken
    /// `{"data":{"amount":"97000.12","base":"BTC","currency":"USD"}}`.
    case coinbase
    /// `{"symbol":"BTCUSDT","price":"97000.12000000"}`.
    case binance
    /// The bare number as the whole body: `97000.12`.
    case plain

    /// The price in US cents, or nil when the body does not parse or the price is not positive.
    /// Fractions of a cent are dropped: a lower BTC price can only raise prices in sats.
    public func centsPerBTC(from body: [UInt8]) -> Int64? {
        let text: String?
        if self == .plain {
            text = String(decoding: body, as: UTF8.self).trimmingWhitespace
        } else {
            guard let json = try? JSON.parse(body), let path = jsonPath(json) else { return nil }
            text = Self.priceText(json[keyPath: path])
        }
        guard let text,
              let usd = try? Fixed18.parse(text, rounding: .up),
              usd.raw > 0,
              usd <= BTCPriceShape.maxPlausible
        else { return nil }
        return Int64(usd.raw / (Fixed18.scale / 100))
    }

    /// Prices above this are taken for garbage, not for the market.
    static let maxPlausible = Fixed18(1_000_000_000)

    private func jsonPath(_ json: JSON) -> [JSONPathStep]? {
        switch self {
        case .kraken:
            // Kraken names the pair in the result ("XXBTZUSD"); accept whichever single key is there.
            guard case let .object(result)? = json["result"], result.count == 1,
                  let errors = json["error"]?.arrayValue, errors.isEmpty
            else { return nil }
            return [.key("result"), .key(result[0].0), .key("c"), .index(0)]
        case .coinbase: return [.key("data"), .key("amount")]
        case .binance: return [.key("price")]
        case .plain: return []
        }
    }

    private static func priceText(_ value: JSON?) -> String? {
        switch value {
        case let .string(s)?: s
        case let .number(n)?: n
        default: nil
        }
    }
}

enum JSONPathStep {
    case key(String)
    case index(Int)
}

extension JSON {
    subscript(keyPath path: [JSONPathStep]) -> JSON? {
        var node: JSON? = self
        for step in path {
            switch step {
            case let .key(key): node = node?[key]
            case let .index(i):
                guard let items = node?.arrayValue, i < items.count else { return nil }
                node = items[i]
            }
        }
        return node
    }
}

extension String {
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[start...end])
    }
}

/// One BTC price in effect, and how it was obtained.
public struct PriceSnapshot: Sendable, Equatable {
    /// The price of one BTC in US cents.
    public var centsPerBTC: Int64
    /// Unix seconds when it was obtained.
    public var fetchedAt: Int64
    /// How many sources gave a valid answer, out of how many were asked (0 of 0 when pinned).
    public var validAnswers: Int
    public var sourcesAsked: Int
    /// True when the operator pinned the price (`usd_per_btc`).
    public var pinned: Bool

    public init(centsPerBTC: Int64, fetchedAt: Int64, validAnswers: Int, sourcesAsked: Int, pinned: Bool) {
        self.centsPerBTC = centsPerBTC
        self.fetchedAt = fetchedAt
        self.validAnswers = validAnswers
        self.sourcesAsked = sourcesAsked
        self.pinned = pinned
    }

    public var conversion: MsatConversion { .usd(centsPerBTC: centsPerBTC) }

    /// "$97,000.00 (pinned)" or "$97,000.00 (median of 3/3 sources, 12 s old)".
    public func describe(now: Int64) -> String {
        let price = CurrencyExchange.dollars(cents: centsPerBTC)
        if pinned { return "\(price) (pinned by usd_per_btc)" }
        return "\(price) (median of \(validAnswers)/\(sourcesAsked) sources, \(max(0, now - fetchedAt)) s old)"
    }
}
