import SatmeterSupport

/// Routstr's `sats_pricing` fields on each `/v1/models` entry, beside ours: sats per token (and per
/// request and image) as numbers, and the most a request can cost, which Routstr clients use to
/// size the `X-Cashu` token they send.
extension PricingEngine {
    /// Adds `prompt`, `completion`, `request`, `image` (sats per unit) and `max_prompt_cost`,
    /// `max_completion_cost`, `max_cost` (sats) to `columns`.
    func addRoutstrColumns(_ columns: inout JSON, model: String, route: String, _ price: ModelPrice, _ conversion: MsatConversion) {
        func perUnit(_ component: PriceComponent) -> JSON {
            // msats for 10^9 units, read as sats per unit (12 decimals), rounded up like a charge.
            .number(Self.decimal(conversion.msat(units: 1_000_000_000, at: price[component]), scale: 12))
        }
        columns.set("prompt", perUnit(.prompt))
        columns.set("completion", perUnit(.completion))
        columns.set("request", .number(Self.decimal(conversion.msat(units: 1, at: price.request), scale: 3)))
        columns.set("image", .number(Self.decimal(conversion.msat(units: 1, at: price.image), scale: 3)))
        guard let worst = largestReservation(model: model, route: route, price) else { return }
        columns.set("max_prompt_cost", .number(Self.decimal(worst.promptMsat, scale: 3)))
        columns.set("max_completion_cost", .number(Self.decimal(worst.completionMsat, scale: 3)))
        // Whole sats a token must carry: the reservation rounded up, plus a sat for a mint's input fee.
        let (sats, overflow) = (worst.totalMsat / 1000 + (worst.totalMsat % 1000 == 0 ? 0 : 1)).addingReportingOverflow(1)
        columns.set("max_cost", .int(overflow ? Int64.max : sats))
    }

    /// The largest reservation a request without `max_tokens` whose prompt fits the context can
    /// get. The cost is linear in the prompt size, so the largest is at an end of the range.
    private func largestReservation(model: String, route: String, _ price: ModelPrice) -> CostBreakdown? {
        let context = price.contextLength ?? 32_000
        let longestPrompt = max(1, context - (price.maxCompletionTokens.map { min($0, context - 1) } ?? 0))
        var worst: CostBreakdown?
        for prompt in [1, longestPrompt] {
            guard let quote = try? quote(PricingRequest(route: route, model: model, estimatedPromptTokens: prompt)) else { continue }
            let cost = quote.cost(for: quote.reservedUsage)
            if worst.map({ cost.totalMsat > $0.totalMsat }) ?? true { worst = cost }
        }
        return worst
    }

    /// `value / 10^scale` as a JSON number text ("0.00015", "12").
    static func decimal(_ value: Int64, scale: Int) -> String {
        var divisor: Int64 = 1
        for _ in 0..<scale { divisor *= 10 }
        let whole = value / divisor
        var fraction = String(value % divisor)
        guard fraction != "0" else { return String(whole) }
        while fraction.count < scale { fraction = "0" + fraction }
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(whole).\(fraction)"
    }
}
