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

/// What a request consumed, as reported by the upstream (or the maxima, for a reservation).
/// `promptTokens` and `completionTokens` are totals; the token counts below are the parts of
/// them billed at their own rate (docs/pricing.md §3.1).
public struct Usage: Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var images: Int
    public var audioSeconds: Int
    /// Parts of `promptTokens`: cache reads, cache writes, audio and image input.
    public var cachedPromptTokens = 0
    public var cacheWriteTokens = 0
    public var audioPromptTokens = 0
    public var imagePromptTokens = 0
    /// Parts of `completionTokens`: reasoning and audio output.
    public var reasoningTokens = 0
    public var audioCompletionTokens = 0
    /// Whose discount applies when no cached rate is configured.
    public var cacheConvention: CacheConvention = .openAI
    /// What the provider says it charged (USD), when it says (OpenRouter `usage.cost`).
    public var providerCostUSD: Fixed18?

    public init(promptTokens: Int, completionTokens: Int, images: Int = 0, audioSeconds: Int = 0) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.images = images
        self.audioSeconds = audioSeconds
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
