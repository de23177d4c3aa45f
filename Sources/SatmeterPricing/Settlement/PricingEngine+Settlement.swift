import SatmeterSupport

extension PricingEngine {
    /// The route's settlement mode, the after-response admission amount, and the session product
    /// (with its window and price in msat) that covers this request, if one does.
    func applySettlement(_ quote: inout PriceQuote, request: PricingRequest, session: SessionProduct?,
                         settlement: RouteSettlement) throws(PricingError) {
        quote.settlement = settlement
        // After-response admission: everything the request costs before it generates anything
        // (prompt bound, request and base fees, minimum charge); output images are left out.
        let reserved = quote.reservedUsage
        let beforeOutput = quote.maximumCost(for: BilledUsage(promptTokens: reserved.promptTokens, completionTokens: 0, audioSeconds: reserved.audioSeconds))
        quote.admissionMsat = max(1, min(quote.maxCostMsat, beforeOutput.totalMsat))
        guard let product = session, let at = request.at, let window = product.window(at: at) else { return }
        let conversion = product.price.currency == .usd ? try oracle.usdPerBTC().conversion : MsatConversion.sats
        let priceMsat = TokenLines(price: product.price, usage: BilledUsage(promptTokens: 0, completionTokens: 0), conversion: conversion).request
        quote.session = SessionQuote(product: product, window: window, priceMsat: max(1, priceMsat))
    }
}

extension PriceQuote {
    /// What the reserve step holds for a request that is not a session's: the worst case, or on
    /// an after-response route the admission amount. A per-request token always covers the worst
    /// case (its change leaves with the response, so there would be nothing to collect from after).
    public func holdMsat(perRequestToken: Bool) -> Int64 {
        settlement == .afterResponse && !perRequestToken ? admissionMsat : maxCostMsat
    }
}

extension PriceExplanation {
    /// `pricing explain`'s lines for the route's settlement mode and a session product.
    var settlementRows: [(String, String)] {
        var rows: [(String, String)] = []
        if quote.settlement == .afterResponse {
            rows.append(("settlement", "after-response: admitted on \(quote.admissionMsat) msat, the bill charged after the response (an X-Cashu token still covers the reserve)"))
        }
        if let session = quote.session {
            let caps = [session.product.maxRequests.map { "\($0) requests" }, session.product.maxTokens.map { "\($0) tokens" }].compactMap { $0 }
            rows.append(("session", "\(session.product.name): \(session.priceMsat) msat buys the key's window [\(session.window.start), \(session.window.end)) (unix s); "
                         + "nothing more within \(caps.joined(separator: " and ")), then 429"))
        }
        return rows
    }
}
