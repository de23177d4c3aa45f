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

    var total: Int64 {
        WideMath.saturatingAdd(WideMath.saturatingAdd(WideMath.saturatingAdd(WideMath.saturatingAdd(prompt, completion), request), image), audio)
    }

    init(price: ModelPrice, usage: BilledUsage, conversion: MsatConversion, derived: ModelPrice? = nil) {
        func msat(_ units: Int, _ rate: Fixed18) -> Int64 { conversion.msat(units: Int64(max(0, units)), at: rate) }
        func rate(_ component: PriceComponent) -> Fixed18 { Self.rate(component, of: price, derived: derived, usage.cacheConvention) }
        // Each part is clamped to what is left of its total, so no token is billed twice. Summed
        // as they go, in the same order as before, with no array per cost (every request prices twice).
        var left = max(0, usage.promptTokens)
        func part(_ component: PriceComponent, _ count: Int) -> Int64 {
            let units = min(left, max(0, count))
            left -= units
            return msat(units, rate(component))
        }
        var sum: Int64 = 0
        sum = WideMath.saturatingAdd(sum, part(.cachedPrompt, usage.cachedPromptTokens))
        sum = WideMath.saturatingAdd(sum, part(.cacheWrite, usage.cacheWriteTokens))
        sum = WideMath.saturatingAdd(sum, part(.audioPrompt, usage.audioPromptTokens))
        sum = WideMath.saturatingAdd(sum, part(.imagePrompt, usage.imagePromptTokens))
        prompt = WideMath.saturatingAdd(sum, msat(left, price.prompt))
        left = max(0, usage.completionTokens)
        sum = 0
        sum = WideMath.saturatingAdd(sum, part(.reasoning, usage.reasoningTokens))
        sum = WideMath.saturatingAdd(sum, part(.audioCompletion, usage.audioCompletionTokens))
        completion = WideMath.saturatingAdd(sum, msat(left, price.completion))
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
