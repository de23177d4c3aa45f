/// What a request consumed, as the upstream reported it (or the maxima, for a reservation): the
/// one shape the upstream reader produces and the pricing engine bills.
///
/// `promptTokens` is every input token (cache reads, cache writes, audio and image input
/// included), `completionTokens` every output token (reasoning and audio included); the counts
/// below are the parts of those totals billed at their own rate (docs/pricing.md §3.1).
/// Reading it from a provider's `usage` object is in `BilledUsage+JSON.swift`.
public struct BilledUsage: Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var images: Int
    public var audioSeconds: Int
    /// Parts of `promptTokens`: cache reads (billed at the cached rate), cache writes
    /// (Anthropic: billed above the prompt rate), audio and image input.
    public var cachedPromptTokens = 0
    public var cacheWriteTokens = 0
    public var audioPromptTokens = 0
    public var imagePromptTokens = 0
    /// Parts of `completionTokens`: reasoning and audio output.
    public var reasoningTokens = 0
    public var audioCompletionTokens = 0
    /// Whose discount applies when no cached rate is configured.
    public var cacheConvention: CacheConvention = .openAI
    /// What the provider says it charged, USD as decimal text, when it says (OpenRouter
    /// `usage.cost`); the pricing engine reads it as an amount.
    public var providerCostUSD: String?

    public init(promptTokens: Int, completionTokens: Int, images: Int = 0, audioSeconds: Int = 0) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.images = images
        self.audioSeconds = audioSeconds
    }
}

/// Whose prompt-cache discount applies when no cached rate is configured or listed.
public enum CacheConvention: String, Sendable, Equatable {
    /// OpenAI bills cached input at 50% of the input price (and reports no cache writes).
    case openAI
    /// Anthropic bills cache reads at 10% of the input price, cache writes at 125%; usage that
    /// comes in Anthropic's cache fields gets this discount by default.
    case anthropic
}
