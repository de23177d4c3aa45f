import SatmeterLedger
import SatmeterPricing
import SatmeterSupport
import SatmeterUpstream

/// The reserve step per route (docs/pricing.md §12): worst case, after-response admission, or a
/// session product's window.
extension OpenAIProxy {
    /// A session request may be asked for the window's price and no more (the 402's amount). An
    /// `X-Cashu` token cannot buy a window: its account is emptied with the response, so the
    /// window would die with it while its price stayed charged.
    func prepareSession(_ quote: inout PriceQuote, credential: Credential) throws(APIError) {
        guard let session = quote.session else { return }
        if case .perRequestToken = credential {
            throw .invalidRequest("This route is sold as the '\(session.product.name)' window, bought per key: pay with an API key or a Cashu token as the key (Authorization: Bearer cashuB...), not X-Cashu. Nothing was charged.")
        }
        quote.maxCostMsat = session.priceMsat
    }

    /// Holds what the request's route says before the upstream call. A per-request token that
    /// cannot be held for goes back whole as change.
    func hold(_ quote: PriceQuote, payer: Payer, settler: Settler, model: String, admission: Admission) throws(APIError) {
        let ledger = handler.ledger
        guard let session = quote.session else {
            do {
                let reserved = try ledger.reservations.reserve(accountID: payer.account.id, amountMsat: quote.holdMsat(perRequestToken: payer.perRequest),
                                                               requestID: exchange.requestID, owner: handler.services.owner, model: model,
                                                               admission: admission)
                if let rateLimit = reserved.rateLimit { exchange.responseHeaders += RateLimitHeaders.headers(rateLimit) }
            } catch {
                settler.returnWholeTokenAsChange()
                throw error.apiError
            }
            return
        }
        let reserved = quote.reservedUsage
        let tokenBound = Int64(clamping: reserved.promptTokens).addingReportingOverflow(Int64(clamping: reserved.completionTokens))
        let windowAdmission: SessionStore.Admission
        do {
            windowAdmission = try ledger.sessions.admit(keyID: payer.account.id, product: session.product.name, windowStart: session.window.start,
                                                  windowEnd: session.window.end, maxRequests: session.product.maxRequests,
                                                  maxTokens: session.product.maxTokens,
                                                  tokenBound: tokenBound.overflow ? .max : tokenBound.partialValue, model: model)
        } catch { throw error.apiError }
        guard case let .admitted(slot) = windowAdmission else {
            throw .sessionCapReached(product: session.product.name, retryAfterSeconds: Int(max(1, session.window.end - Clock.now())))
        }
        if slot.purchase {
            // The window is not paid yet: this request holds its price; the first to succeed pays it.
            do {
                try ledger.reservations.reserve(accountID: payer.account.id, amountMsat: session.priceMsat, requestID: exchange.requestID,
                                                owner: handler.services.owner, model: model, admission: admission)
            } catch {
                try? ledger.sessions.giveBack(slot)
                throw error.apiError
            }
        }
        settler.sessionSlot = slot
        exchange.record.pricingMode = "session"
    }
}

extension Settler {
    /// A session request served: the window's price if this request is the one that buys it,
    /// else nothing; the window's token count becomes what the request used.
    func settledInSession(_ slot: SessionSlot, usage: BilledUsage, estimated: Bool) -> SettlementReceipt {
        let ledger = handler.ledger
        var charged: Int64 = 0
        do {
            let used = Int64(clamping: usage.promptTokens).addingReportingOverflow(Int64(clamping: usage.completionTokens))
            charged = try ledger.sessions.settle(slot, requestID: exchange.requestID, usedTokens: used.overflow ? .max : used.partialValue,
                                                 priceMsat: quote.session?.priceMsat ?? 0)
            exchange.record.paymentSettled = true
        } catch {
            Log.error("request \(exchange.requestID): session settlement failed, any hold left for the sweeper: \(error)")
        }
        exchange.record.promptTokens = usage.promptTokens
        exchange.record.completionTokens = usage.completionTokens
        exchange.record.usageEstimated = estimated
        exchange.record.costMsat = charged
        exchange.record.revenueMsat = charged
        exchange.record.upstreamCostMsat = quote.cost(for: usage).upstreamCostMsat
        var receipt = SettlementReceipt(costMsat: charged, promptTokens: usage.promptTokens, completionTokens: usage.completionTokens,
                                        pricingSource: "session")
        receipt.balanceMsat = (try? ledger.accounts.account(id: payer.account.parentID ?? payer.account.id))?.balanceMsat
        return receipt
    }
}
