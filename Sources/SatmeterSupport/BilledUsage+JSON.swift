/// Reading a provider's `usage` object into `BilledUsage`, normalised so that every billed part
/// is counted once (the totals include their parts).
///
/// Read from every shape providers send (docs/pricing.md §3.1):
/// - OpenAI chat/completions: `prompt_tokens`, `completion_tokens`,
///   `prompt_tokens_details.{cached_tokens,audio_tokens,image_tokens}`,
///   `completion_tokens_details.{reasoning_tokens,audio_tokens}` (all inside the totals);
/// - OpenAI Responses: `input_tokens`, `output_tokens`, `input_tokens_details.cached_tokens`,
///   `output_tokens_details.reasoning_tokens` (inside the totals);
/// - Anthropic-style `cache_read_input_tokens` / `cache_creation_input_tokens`: outside
///   `input_tokens` (Anthropic's definition), and outside `prompt_tokens` when `total_tokens` or
///   the counts themselves show it;
/// - DeepSeek `prompt_cache_hit_tokens` (inside `prompt_tokens`);
/// - reasoning tokens outside `completion_tokens` (some OpenAI-compatible servers): detected when
///   `total_tokens` exceeds prompt + completion by at least the reasoning count; tokens counted in
///   `total_tokens` only (Gemini's thinking tokens) are taken as reasoning;
/// - OpenRouter `cost` (USD credits the provider charged for the request).
extension BilledUsage {
    /// Reads a `usage` object; nil when it has no usable prompt count.
    public init?(json: JSON?) {
        self.init(promptTokens: 0, completionTokens: 0)
        guard let json, case .object = json else { return nil }
        func count(_ value: JSON?) -> Int? {
            guard let n = value?.int64Value, n >= 0, n < Int64(Int32.max) else { return nil }
            return Int(n)
        }
        let anthropicNaming = json["prompt_tokens"] == nil && json["input_tokens"] != nil
        guard var prompt = count(json["prompt_tokens"]) ?? count(json["input_tokens"]) else { return nil }
        var completion = count(json["completion_tokens"]) ?? count(json["output_tokens"]) ?? 0
        let promptDetails = json["prompt_tokens_details"] ?? json["input_tokens_details"]
        let completionDetails = json["completion_tokens_details"] ?? json["output_tokens_details"]
        let total = count(json["total_tokens"])

        let cacheRead = count(json["cache_read_input_tokens"]) ?? 0
        let cacheWrite = count(json["cache_creation_input_tokens"]) ?? 0
        if cacheRead + cacheWrite > 0 {
            cacheConvention = .anthropic
            let outside = anthropicNaming || prompt < cacheRead + cacheWrite
                || total == prompt + completion + cacheRead + cacheWrite
            if outside { prompt += cacheRead + cacheWrite }
        }
        let cachedInside = count(promptDetails?["cached_tokens"]) ?? count(json["prompt_cache_hit_tokens"]) ?? 0
        cachedPromptTokens = min(prompt, max(cacheRead, cachedInside))
        cacheWriteTokens = min(prompt - cachedPromptTokens, max(cacheWrite, count(promptDetails?["cache_write_tokens"]) ?? 0))

        var reasoning = count(completionDetails?["reasoning_tokens"]) ?? count(json["reasoning_tokens"]) ?? 0
        if reasoning > 0, let total, total - prompt - completion >= reasoning {
            completion += reasoning  // reported beside completion_tokens, not inside it
        } else if reasoning == 0, let total, total > prompt + completion {
            // Output counted only in the total (Gemini's thinking tokens): billed, so charged, as reasoning.
            reasoning = total - prompt - completion
            completion = total - prompt
        }
        promptTokens = prompt
        completionTokens = completion
        reasoningTokens = min(completion, reasoning)
        audioCompletionTokens = min(completion - reasoningTokens, count(completionDetails?["audio_tokens"]) ?? 0)
        var left = prompt - cachedPromptTokens - cacheWriteTokens
        audioPromptTokens = min(left, count(promptDetails?["audio_tokens"]) ?? 0)
        left -= audioPromptTokens
        imagePromptTokens = min(left, count(promptDetails?["image_tokens"]) ?? 0)
        providerCostUSD = switch json["cost"] {
        case let .number(text)?: text
        case let .string(text)?: text
        default: nil
        }
    }

    /// The usage in a response object or stream event, wherever the provider put it: top level
    /// (chat, completions, embeddings) or inside `response` (Responses API events).
    public static func found(in json: JSON) -> BilledUsage? {
        BilledUsage(json: json["usage"]) ?? BilledUsage(json: json["response"]?["usage"])
    }
}
