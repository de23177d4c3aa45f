import Yams

// TEMPORARY: the contract of the pricing engine, with a trivial implementation, so the request
// path can be built while the real engine is written. Replaced wholesale by Pricing/*.

public struct BTCPriceConfig: Sendable {
    public var fixedUSDPerBTC: Int64?
}

public struct PriceSnapshot: Sendable { public var usdPerBTC: Int64 }

public struct PricingConfig: Sendable {
    public var btc = BTCPriceConfig(fixedUSDPerBTC: 100_000)
    public var minRequestMsat: Int64 = 1000
    public static let defaults = PricingConfig()
    public static func parse(pricing: Yams.Node?, routes: Yams.Node?, file: String) throws(ConfigError) -> PricingConfig { .defaults }
}

public final class BTCPriceOracle: Sendable {
    let config: BTCPriceConfig
    public init(config: BTCPriceConfig, fetcher: any HTTPFetching, clock: @escaping @Sendable () -> Int64) { self.config = config }
    public func usdPerBTC() throws(PricingError) -> PriceSnapshot { PriceSnapshot(usdPerBTC: config.fixedUSDPerBTC ?? 100_000) }
    public func refresh() {}
}

public enum PricingMode: String, Sendable { case dynamic }
public enum PriceSource: String, Sendable { case defaultTable = "default-table" }
public enum PricingError: Error, Sendable, Equatable { case unsupportedModel(String), deniedModel(String), missingModel, priceUnavailable(String) }

public struct PricingRequest: Sendable {
    public var route: String
    public var model: String?
    public var headers: [String: String]
    public var body: JSON
    public var estimatedPromptTokens: Int
    public var maxCompletionTokens: Int?
    public init(route: String, model: String?, headers: [String: String], body: JSON, estimatedPromptTokens: Int, maxCompletionTokens: Int?) {
        self.route = route; self.model = model; self.headers = headers; self.body = body
        self.estimatedPromptTokens = estimatedPromptTokens; self.maxCompletionTokens = maxCompletionTokens
    }
}

public struct Usage: Sendable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var images: Int = 0
    public var audioSeconds: Int = 0
    public init(promptTokens: Int, completionTokens: Int, images: Int = 0, audioSeconds: Int = 0) {
        self.promptTokens = promptTokens; self.completionTokens = completionTokens; self.images = images; self.audioSeconds = audioSeconds
    }
}

public struct CostBreakdown: Sendable {
    public var totalMsat: Int64
    public var promptMsat: Int64
    public var completionMsat: Int64
    public var requestFeeMsat: Int64
    public var upstreamCostMsat: Int64
}

public struct PriceQuote: Sendable {
    public var model: String
    public var mode: PricingMode
    public var source: PriceSource
    public var upstream: String?
    public var maxCostMsat: Int64
    public var resolvedPrice: String
    let msatPerPromptToken: Int64
    let msatPerCompletionToken: Int64
    let minimum: Int64
    public func cost(for usage: Usage) -> CostBreakdown {
        let p = Int64(usage.promptTokens) * msatPerPromptToken
        let c = Int64(usage.completionTokens) * msatPerCompletionToken
        return CostBreakdown(totalMsat: max(minimum, p + c), promptMsat: p, completionMsat: c, requestFeeMsat: 0, upstreamCostMsat: p + c)
    }
}

public final class PricingEngine: Sendable {
    let config: PricingConfig
    let oracle: BTCPriceOracle
    public init(config: PricingConfig, oracle: BTCPriceOracle) { self.config = config; self.oracle = oracle }
    public func quote(_ request: PricingRequest) throws(PricingError) -> PriceQuote {
        guard let model = request.model else { throw .missingModel }
        var q = PriceQuote(model: model, mode: .dynamic, source: .defaultTable, upstream: nil, maxCostMsat: 0, resolvedPrice: "1/2 msat per token",
                           msatPerPromptToken: 1, msatPerCompletionToken: 2, minimum: config.minRequestMsat)
        q.maxCostMsat = q.cost(for: Usage(promptTokens: request.estimatedPromptTokens, completionTokens: request.maxCompletionTokens ?? 4096)).totalMsat
        return q
    }
}
