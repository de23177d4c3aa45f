import SatmeterSupport

/// How a price was computed.
public enum PricingMode: String, Sendable, Equatable {
    /// A per-token price the operator wrote for this model (route `models`, `pricing.overrides`)
    /// or for unknown models (`fallback`).
    case perModel = "per-model"
    /// `pricing.fixed_per_token`: the same sats per 1K tokens for every model.
    case fixedPerToken = "fixed-per-token"
    /// Upstream cost × exchange fee × upstream fee, at the live BTC price.
    case dynamic
    /// `pricing.fixed_per_request`: one flat price for every request.
    case fixedPerRequest = "fixed-per-request"
    /// A flat price per request written for a `type: flat` route or one of its models.
    case flat
}

/// Where a price came from, as logged in `pricing_source`.
public enum PriceSource: String, Sendable, Equatable {
    case routeModels = "route.models"
    case defaultTable = "default-table"
    case fallback
    case override
    case fixed
    /// The `price` of a `type: flat` route.
    case routePrice = "route.price"
}

public enum PricingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not allowed on this route, or no price can be found for it (fail closed). HTTP 400.
    case unsupportedModel(String)
    /// On the route's deny list (deprecated). HTTP 400.
    case deniedModel(String)
    /// A token-based route needs `model` in the body. HTTP 400.
    case missingModel
    /// No usable BTC price (every source down past the maximum age). HTTP 503.
    case priceUnavailable(String)

    public var description: String {
        switch self {
        case let .unsupportedModel(model): "Unsupported model: \(model)"
        case let .deniedModel(model): "Model \(model) is no longer available"
        case .missingModel: "The request body has no model"
        case let .priceUnavailable(why): "Pricing is unavailable: \(why)"
        }
    }
}

/// A cost in msats, each line rounded up to the msat; total = lines + minimum top-up.
public struct CostBreakdown: Sendable, Equatable {
    public var totalMsat: Int64
    public var promptMsat: Int64
    public var completionMsat: Int64
    /// The model's per-request price plus the base fee (or the whole flat price).
    public var requestFeeMsat: Int64
    public var imageMsat: Int64
    public var audioMsat: Int64
    /// The provider's reported cost × fees, when it replaced the token lines (dynamic prices only).
    public var providerCostMsat: Int64 = 0
    /// What was added to reach the minimum charge (0 when the lines already reach it).
    public var minimumTopUpMsat: Int64
    /// The operator's own cost estimate (upstream price, no fees), for margin reports; 0 if unknown.
    public var upstreamCostMsat: Int64

    public init(totalMsat: Int64 = 0, promptMsat: Int64 = 0, completionMsat: Int64 = 0, requestFeeMsat: Int64 = 0,
                imageMsat: Int64 = 0, audioMsat: Int64 = 0, minimumTopUpMsat: Int64 = 0, upstreamCostMsat: Int64 = 0) {
        self.totalMsat = totalMsat
        self.promptMsat = promptMsat
        self.completionMsat = completionMsat
        self.requestFeeMsat = requestFeeMsat
        self.imageMsat = imageMsat
        self.audioMsat = audioMsat
        self.minimumTopUpMsat = minimumTopUpMsat
        self.upstreamCostMsat = upstreamCostMsat
    }
}

/// What the request path knows before calling upstream.
public struct PricingRequest: Sendable {
    /// "POST /v1/chat/completions".
    public var route: String
    /// body.model.
    public var model: String?
    /// Lower-cased names.
    public var headers: [String: String]
    public var body: JSON
    /// The caller's upper-bound estimate of prompt tokens.
    public var estimatedPromptTokens: Int
    /// body max_tokens / max_completion_tokens, if given.
    public var maxCompletionTokens: Int?
    /// Images to reserve for; nil = body `n` (default 1) on image routes, 0 elsewhere.
    public var maxImages: Int?
    /// Audio seconds to reserve for; nil = `default_max_audio_seconds` on audio routes, 0 elsewhere.
    public var maxAudioSeconds: Int?
    /// When the request is priced (unix seconds), for `time` and `days` rules; nil: the engine's clock.
    public var at: Int64?

    public init(route: String, model: String?, headers: [String: String] = [:], body: JSON = .object([]),
                estimatedPromptTokens: Int, maxCompletionTokens: Int? = nil, maxImages: Int? = nil, maxAudioSeconds: Int? = nil) {
        self.route = route
        self.model = model
        self.headers = headers
        self.body = body
        self.estimatedPromptTokens = estimatedPromptTokens
        self.maxCompletionTokens = maxCompletionTokens
        self.maxImages = maxImages
        self.maxAudioSeconds = maxAudioSeconds
    }
}
