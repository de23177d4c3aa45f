import Yams
import SatmeterSupport

extension PriceResolver {
    /// The per-family (`families.<pattern>.fee`) and per-provider (`provider_fees.<upstream>`)
    /// multipliers on a dynamic price, after the global fees; nil on overflow.
    func extraFees(_ price: ModelPrice, model: String, upstream: String?) -> (ModelPrice, [PriceFactor], [Int64])? {
        var out = price
        var factors: [PriceFactor] = []
        var ppm: [Int64] = []
        if let family = config.families.lookup(model), let fee = family.value.feePPM {
            guard let marked = out.timesPPM(fee) else { return nil }
            out = marked
            factors.append(PriceFactor("family fee", multiplierPPM: fee, note: "\(family.pattern)"))
            ppm.append(fee)
        }
        if let upstream, let fee = config.providerFeePPM[upstream] {
            guard let marked = out.timesPPM(fee) else { return nil }
            out = marked
            factors.append(PriceFactor("provider fee", multiplierPPM: fee, note: upstream))
            ppm.append(fee)
        }
        return (out, factors, ppm)
    }

    static func multiplier(_ ppm: Int64) -> String {
        Fixed18(raw: Int128(ppm) * 1_000_000_000_000).decimalString()
    }
}

extension PricingSectionParser {
    /// A fee multiplier: 1 to 10, at most 6 decimals (below 1 would sell under the upstream cost).
    func multiplier(_ node: Node, _ what: String) throws(ConfigError) -> Int64 {
        try reader.scaled(node, what, decimals: 6, 1_000_000...10_000_000, unit: " (a multiplier)")
    }

    /// `provider_fees: { openai: 1.1, groq: 1.3 }`: upstream name → multiplier on its dynamic prices.
    func providerFees(_ node: Node) throws(ConfigError) -> [String: Int64] {
        var fees: [String: Int64] = [:]
        for (key, _, value) in try reader.fields(node, "pricing.provider_fees").pairs {
            fees[key] = try multiplier(value, "pricing.provider_fees.\(key)")
        }
        return fees
    }
}
