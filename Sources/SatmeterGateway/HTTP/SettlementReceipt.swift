import SatmeterSupport

/// What a settled request cost the client, told in one of two ways: response headers on a plain
/// answer, or the SSE comment `: satmeter {json}` just before a stream's `[DONE]` (headers are long
/// gone by then). Same fields either way; the change token goes out as `X-Cashu` (a stream carries
/// it as its own `cashu-change` event instead).
struct SettlementReceipt: Equatable {
    var costMsat: Int64
    var promptTokens: Int
    var completionTokens: Int
    /// Where the price came from (`PriceQuote.Source`).
    var pricingSource: String
    /// The model whose price was charged, when the upstream served another than the one asked for.
    var pricedModel: String?
    /// What the payer has left; nil for a per-request token, whose rest goes back as change.
    var balanceMsat: Int64?
    /// The change of a per-request (`X-Cashu`) payment, when the mint could send it now.
    var changeToken: String?

    var headers: [(String, String)] {
        var headers = [
            ("X-Satmeter-Cost-Msat", String(costMsat)),
            ("X-Satmeter-Prompt-Tokens", String(promptTokens)),
            ("X-Satmeter-Completion-Tokens", String(completionTokens)),
            ("X-Satmeter-Pricing-Source", pricingSource),
        ]
        if let pricedModel { headers.append(("X-Satmeter-Priced-Model", pricedModel)) }
        if let changeToken { headers.append(("X-Cashu", changeToken)) }
        if let balanceMsat { headers.append(("X-Satmeter-Balance-Msat", String(balanceMsat))) }
        return headers
    }

    /// The receipt as JSON, in the header order with `x-satmeter-` dropped and snake case.
    var json: JSON {
        var json: JSON = [
            "cost_msat": .int(costMsat),
            "prompt_tokens": .int(Int64(promptTokens)),
            "completion_tokens": .int(Int64(completionTokens)),
            "pricing_source": .string(pricingSource),
        ]
        if let pricedModel { json.set("priced_model", .string(pricedModel)) }
        if let balanceMsat { json.set("balance_msat", .int(balanceMsat)) }
        return json
    }

    /// An SSE comment line: SDKs skip comments, raw SSE clients can read it.
    var sseComment: String { ": satmeter " + json.serialized + "\n\n" }
}
