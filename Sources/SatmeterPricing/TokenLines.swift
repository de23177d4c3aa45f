import SatmeterSupport

/// A cost's lines, each rounded up to the msat on its own. The prompt line is the sum of the
/// plain, cached, cache-write, audio and image input parts; the completion line of the plain,
/// reasoning and audio output parts; each part at its own rate (docs/pricing.md §3.1).
struct TokenLines {
    var prompt: Int64 = 0
    var completion: Int64 = 0
    var request: Int64 = 0
    var image: Int64 = 0
    var audio: Int64 = 0

    var total: Int64 { [prompt, completion, request, image, audio].reduce(0, WideMath.saturatingAdd) }

    init(price: ModelPrice, usage: BilledUsage, conversion: MsatConversion, derived: ModelPrice? = nil) {
        func msat(_ units: Int, _ rate: Fixed18) -> Int64 { conversion.msat(units: Int64(max(0, units)), at: rate) }
        func rate(_ component: PriceComponent) -> Fixed18 { Self.rate(component, of: price, derived: derived, usage.cacheConvention) }
        // Each part is clamped to what is left of its total, so no token is billed twice.
        var left = max(0, usage.promptTokens)
        var promptParts: [Int64] = []
        for (component, count) in [(PriceComponent.cachedPrompt, usage.cachedPromptTokens), (.cacheWrite, usage.cacheWriteTokens),
                                   (.audioPrompt, usage.audioPromptTokens), (.imagePrompt, usage.imagePromptTokens)] {
            let part = min(left, max(0, count))
            left -= part
            promptParts.append(msat(part, rate(component)))
        }
        promptParts.append(msat(left, price.prompt))
        left = max(0, usage.completionTokens)
        var completionParts: [Int64] = []
        for (component, count) in [(PriceComponent.reasoning, usage.reasoningTokens), (.audioCompletion, usage.audioCompletionTokens)] {
            let part = min(left, max(0, count))
            left -= part
            completionParts.append(msat(part, rate(component)))
        }
        completionParts.append(msat(left, price.completion))
        prompt = promptParts.reduce(0, WideMath.saturatingAdd)
        completion = completionParts.reduce(0, WideMath.saturatingAdd)
        request = msat(1, price.request)
        image = msat(usage.images, price.image)
        audio = msat(usage.audioSeconds, price.audioSecond)
    }

    /// The rate a part is billed at: its own when set, else the catalog's proportion of the plain
    /// rate, else its default. Cache reads: 50% (OpenAI) or 10% (Anthropic) of the prompt rate;
    /// cache writes 125% of it; reasoning the completion rate; audio and image tokens the prompt
    /// or completion rate.
    static func rate(_ component: PriceComponent, of price: ModelPrice, derived: ModelPrice?, _ convention: CacheConvention) -> Fixed18 {
        let own = price[component]
        guard own.isZero else { return own }
        if let derived, !derived[component].isZero { return derived[component] }
        switch component {
        case .cachedPrompt: return price.prompt.timesPPM(convention == .anthropic ? 100_000 : 500_000) ?? price.prompt
        case .cacheWrite: return price.prompt.timesPPM(1_250_000) ?? price.prompt
        case .audioPrompt, .imagePrompt: return price.prompt
        case .reasoning, .audioCompletion: return price.completion
        default: return own
        }
    }
}
