import SatmeterLedger
import SatmeterPricing
import SatmeterSupport
import SatmeterUpstream
import SatmeterWallet

/// The paid path: authenticate, price, reserve the maximum cost, call the upstream, then settle
/// the actual cost from the reported usage and release the rest.
///
/// Charging policy (what a client pays for):
/// - upstream 2xx with usage: the priced usage (never more than the reservation);
/// - upstream 2xx without usage (or a stream that ended without it): an estimate from the text
///   actually generated (content, tool-call arguments, refusals; `TextTokens`), prompt from our own upper bound;
/// - the client went away mid-stream: the same estimate over what was relayed before it left;
/// - upstream 4xx, 5xx, timeout, unreachable, garbage, or a stream cut before its end: nothing;
/// - an error under HTTP 200 (an error body, an error event mid-stream): the usage the upstream
///   reported with it, if any (the provider bills it), else nothing;
/// - a response naming another model than the one asked for: priced as the served model.
struct OpenAIProxy {
    let handler: GatewayHandler
    let exchange: Exchange
    let endpoint: Endpoint

    private var services: GatewayServices { handler.services }

    func run() throws(APIError) {
        exchange.record.route = endpoint.routeKey
        let gate = PaymentGate(handler: handler, exchange: exchange)
        let credential = try gate.credential()
        let client = try ClientBody.read(exchange, endpoint: endpoint, limit: services.config.maxBodyBytes, router: services.router)
        exchange.lap(.read)
        // Someone else's conversation is not continued (nor paid for, nor forwarded).
        if endpoint == .responses { try ResponseOwnership(handler: handler).checkContinuation(of: client.json, credential: credential) }
        var body = client.json
        let request = client.request
        exchange.record.model = request.model
        let headers = exchange.io.httpHeaders
        var quote: PriceQuote
        let pricingRequest = PricingRequest(
            route: endpoint.routeKey, model: request.model, headers: headers, body: body,
            estimatedPromptTokens: request.promptTokenBound, maxCompletionTokens: request.maxCompletionTokens,
            maxImages: request.maxImages, maxAudioSeconds: request.maxAudioSeconds)
        do {
            quote = try services.pricing.quote(pricingRequest)
        } catch { throw error.apiError }
        let providers = services.router.candidates(model: request.model, pinned: quote.upstream)
            .filter { endpoint != .messages || $0.speaksMessages }
        guard !providers.isEmpty else { throw .unsupportedModel(request.model) }
        exchange.lap(.pricing)
        // Reserve for the dearest provider that may serve it; settle at the one that did.
        quote.maxCostMsat = providers.map { $0.applyingFee(quote.maxCostMsat) }.max() ?? quote.maxCostMsat
        try prepareSession(&quote, credential: credential)
        exchange.record.pricingMode = quote.mode.rawValue
        exchange.record.pricingSource = quote.source.rawValue
        exchange.record.resolvedPrice = handler.priceSummaries.value(for: quote.price.summaryKey) { _ in quote.resolvedPrice }
        exchange.record.provider = providers[0].name
        exchange.record.paymentRequiredMsat = quote.maxCostMsat
        exchange.record.cohort = quote.cohort
        exchange.record.clientRef = exchange.clientRef(memo: handler.clientRefs)

        let admission = Admission(tokens: request.admittedTokens(quote), stream: request.stream)
        // A per-request token pays for a fresh account with the ecash limits: a request those can
        // never admit is refused before the token is taken.
        if case .perRequestToken = credential { try gate.checkFreshAccountLimits(admission) }
        let payer = try gate.payer(for: credential, maxCostMsat: quote.maxCostMsat, model: request.model)
        exchange.lap(.auth)
        exchange.record.accountID = payer.account.id
        exchange.record.paymentMethod = payer.perRequest ? "x-cashu" : (payer.account.kind == .key ? "key" : "token")
        let settler = Settler(handler: handler, exchange: exchange, quote: quote, request: request, payer: payer)
        settler.pricingRequest = pricingRequest
        // A per-request token was received already: if nothing can be held, it all goes back as change.
        try hold(quote, payer: payer, settler: settler, model: request.model, admission: admission)
        exchange.lap(.reserve)

        CompletionLimit.write(into: &body, request: request, quote: quote, endpoint: endpoint)
        let clientBody = body
        if request.stream, endpoint.acceptsStreamOptions {
            // Usage must come back in the stream, whatever the client asked for.
            var options = body["stream_options"] ?? [:]
            if case .object = options {} else { options = [:] }
            options.set("include_usage", true)
            body.set("stream_options", options)
        }
        let forwarded = headers.filter { services.config.upstream.forwards($0.key) || (endpoint == .messages && $0.key.hasPrefix("anthropic-")) }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let attempts = ProviderAttempts(handler: handler, exchange: exchange, settler: settler, providers: providers)
        let build = { (provider: Provider) -> HTTPRequest in
            HTTPRequest(method: "POST", url: provider.baseURL + endpoint.upstreamPath,
                        headers: provider.requestHeaders(contentType: client.contentType, messagesAPI: endpoint == .messages,
                                                         clientSetsVersion: headers["anthropic-version"] != nil) + forwarded,
                        body: client.upstreamBody(for: provider, json: body),
                        timeout: Double(provider.timeoutSeconds))
        }
        if request.stream {
            // SDKs read headers but stop at [DONE]: the change above the reservation goes in the
            // response head now; only the unused reservation is left for after [DONE].
            settler.sendChangeAboveReservation()
            let idle = { (provider: Provider) -> StreamIdleLimit in
                var limits = services.config.upstream
                limits.streamIdleTimeoutSeconds = provider.streamIdleTimeoutSeconds
                return StreamIdleLimit(limits, reasoningRequested: ReasoningSilence.requested(by: clientBody))
            }
            let withoutOptions = { (provider: Provider) -> HTTPRequest? in
                guard clientBody != body else { return nil }
                var request = build(provider)
                request.body = client.upstreamBody(for: provider, json: clientBody)
                return request
            }
            attempts.stream(build, withoutOptions: withoutOptions, idle: idle,
                            flavor: endpoint == .messages ? .messages : .openAI, clientWantsUsage: request.clientWantsUsage)
            exchange.lap(.upstream)
        } else {
            try attempts.buffered(build) { response throws(APIError) in try forward(response, settler: settler, client: client) }
        }
    }

    /// Non-streaming: the upstream's whole (2xx) answer is in; settle, then respond with the cost in headers.
    private func forward(_ response: HTTPResponse, settler: Settler, client: ClientBody) throws(APIError) {
        exchange.lap(.upstream)
        let contentType = response.header("Content-Type") ?? "application/json"
        if endpoint == .audioSpeech {
            // Audio bytes, not JSON: priced by the characters asked for, known before the call.
            let usage = BilledUsage(promptTokens: client.request.promptTokenBound, completionTokens: 0)
            let receipt = settler.settle(usage: usage, estimated: false)
            exchange.send(status: response.status, body: response.body, contentType: contentType, headers: receipt?.headers ?? [])
            return
        }
        guard let json = try? JSON.parse(response.body), case .object = json else {
            if client.isUpload, (200..<300).contains(response.status), !response.body.isEmpty {
                // `response_format: text/srt/vtt` transcriptions: plain text, priced by the upload.
                let receipt = settler.settle(usage: BilledUsage(promptTokens: 0, completionTokens: 0), estimated: true,
                                             audioSeconds: client.uploadSeconds ?? 0)
                exchange.send(status: response.status, body: response.body, contentType: contentType, headers: receipt?.headers ?? [])
                return
            }
            settler.release(because: "upstream sent invalid JSON")
            throw .upstreamFailed("the upstream answered with invalid JSON")
        }
        if endpoint == .responses { ResponseOwnership(handler: handler).recordCreator(in: json, accountID: settler.payer.account.id) }
        let reported = BilledUsage.found(in: json)
        if let failure = ErrorUnder200.message(json: json) {
            // An error under 200 (OpenRouter): the reported usage if any, else nothing.
            try settler.failUnder200(failure, reported: reported, response: response)
            return
        }
        settler.servedModel = ServedModel.named(in: json)
        var images = 0
        var seconds = 0
        var usage: BilledUsage
        switch endpoint {
        case .imageGenerations:
            images = json["data"]?.arrayValue?.count ?? 0
            usage = reported ?? BilledUsage(promptTokens: 0, completionTokens: 0)
        case .audioTranscriptions, .audioTranslations:
            // Newer models report `usage: {type: "duration", seconds}`; verbose_json has `duration`.
            let reportedSeconds = json["usage"]?["type"]?.stringValue == "duration" ? json["usage"]?["seconds"] : nil
            seconds = UploadPricing.seconds(reportedDuration: reportedSeconds ?? json["duration"], upload: client.uploadSeconds)
            usage = reported ?? BilledUsage(promptTokens: 0, completionTokens: 0)
        default:
            usage = reported ?? settler.estimate(completionTokens: GeneratedText.tokens(in: json))
        }
        let estimated = reported == nil && images == 0 && seconds == 0
        let receipt = settler.settle(usage: usage, estimated: estimated, images: images, audioSeconds: seconds)
        exchange.lap(.settle)
        exchange.send(status: response.status, body: response.body, contentType: "application/json", headers: receipt?.headers ?? [])
        exchange.lap(.write)
    }
}

/// What the proxy needs to know about a client's request body, validated.
struct ProxiedRequest {
    var model: String
    var stream: Bool
    var clientWantsUsage: Bool
    var maxCompletionTokens: Int?
    /// The client named `max_tokens` or `max_completion_tokens`; else satmeter writes the limit it reserved.
    var clientLimitsCompletion: Bool
    var promptTokenBound: Int
    /// Images and audio seconds to reserve for (nil: the pricing engine's defaults for the route).
    var maxImages: Int?
    var maxAudioSeconds: Int?

    /// Far above any real model's output limit; larger values are a client error, not a price.
    static let completionTokenCeiling = 10_000_000
    /// OpenAI's own limit for `n`, and the most choices the pricing engine reserves for.
    static let maxChoices = 128

    init(body: JSON, endpoint: Endpoint) throws(APIError) {
        guard let model = body["model"]?.stringValue else { throw .invalidRequest("'model' is required and must be a string") }
        guard !model.isEmpty, model.utf8.count <= 256, !model.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw .invalidRequest("'model' must be 1 to 256 printable characters")
        }
        self.model = model
        switch body["stream"] {
        case nil, .null?: stream = false
        case let .bool(value)?: stream = value
        default: throw .invalidRequest("'stream' must be a boolean")
        }
        if stream, endpoint == .embeddings { throw .invalidRequest("embeddings cannot be streamed") }
        clientWantsUsage = body["stream_options"]?["include_usage"]?.boolValue ?? false
        maxCompletionTokens = nil
        for field in ["max_completion_tokens", "max_tokens", "max_output_tokens"] {
            guard let value = body[field], value != .null else { continue }
            guard let n = value.int64Value, n >= 1, n <= Int64(Self.completionTokenCeiling) else {
                throw .invalidRequest("'\(field)' must be a whole number from 1 to \(Self.completionTokenCeiling)")
            }
            // Upstreams differ in which of the two they honour: reserve for the larger.
            maxCompletionTokens = maxCompletionTokens.map { max($0, Int(n)) } ?? Int(n)
        }
        clientLimitsCompletion = maxCompletionTokens != nil
        if endpoint == .embeddings { maxCompletionTokens = 0 }
        // Pricing reserves for at most `maxChoices`; a larger n would be served beyond what was reserved.
        for field in ["n", "best_of"] {
            guard let value = body[field], value != .null else { continue }
            guard let n = value.int64Value, n >= 1, n <= Int64(Self.maxChoices) else {
                throw .invalidRequest("'\(field)' must be a whole number from 1 to \(Self.maxChoices)")
            }
        }
        // The prompt bound counts messages in a list only: anything else would go upstream unreserved.
        if let messages = body["messages"], messages != .null, messages.arrayValue == nil {
            throw .invalidRequest("'messages' must be an array")
        }
        promptTokenBound = try PromptEstimate.upperBound(for: body, model: model)
        try adjust(for: endpoint, body: body)
        // Predicted output the model does not use is billed as completion tokens.
        if let prediction = body["prediction"], let limit = maxCompletionTokens, endpoint != .embeddings {
            maxCompletionTokens = PromptEstimate.adding(limit, PromptEstimate.textBytes(prediction))
        }
    }
}

/// Settles one request's reservation exactly once and reports the result as a `SettlementReceipt`.
/// For a per-request token it also sends what is left back as change (`X-Cashu`).
final class Settler {
    let handler: GatewayHandler
    let exchange: Exchange
    let quote: PriceQuote
    let request: ProxiedRequest
    let payer: Payer
    private(set) var done = false
    /// The change token sent back, if any (streams write it as a final event).
    private(set) var change: SentToken?
    /// A stream's change above its reservation, sent in the `X-Cashu` response header.
    private(set) var upfrontChange: SentToken?
    /// The provider serving the request (its fee applies), once one answered.
    var provider: Provider?
    /// What the quote priced, kept to price the served model when the upstream names another.
    var pricingRequest: PricingRequest?
    /// The model the upstream says it served.
    var servedModel: String?
    /// The session window this request was counted into, when a session product covers it.
    var sessionSlot: SessionSlot?

    init(handler: GatewayHandler, exchange: Exchange, quote: PriceQuote, request: ProxiedRequest, payer: Payer) {
        self.handler = handler
        self.exchange = exchange
        self.quote = quote
        self.request = request
        self.payer = payer
    }

    private var accountID: Int64 { payer.account.id }

    /// Usage when the upstream reported none: our prompt bound (in estimated tokens) and the
    /// tokens estimated in the generated text that came back (`GeneratedText`).
    func estimate(completionTokens: Int) -> BilledUsage {
        BilledUsage(promptTokens: PromptEstimate.tokens(inTextBytes: request.promptTokenBound),
                      completionTokens: completionTokens)
    }

    /// Charges the usage; returns what the client is told it paid (nil if already settled).
    @discardableResult
    func settle(usage: BilledUsage, estimated: Bool, images: Int = 0, audioSeconds: Int = 0) -> SettlementReceipt? {
        let ledger = handler.ledger
        guard !done else { return nil }
        done = true
        if let sessionSlot { return settledInSession(sessionSlot, usage: usage, estimated: estimated) }
        let started = Clock.monotonicMillis()
        let priced = quoteForServedModel()
        var units = usage
        units.images = images
        units.audioSeconds = audioSeconds
        let cost = priced.cost(for: units)
        // The serving provider's fee. Cost above the reservation is not capped here: the ledger
        // takes it from the rest of the balance and records only what it cannot cover as loss.
        let total = provider?.applyingFee(cost.totalMsat) ?? cost.totalMsat
        var charged = total
        var balanceAfter: Int64?
        do {
            let billedTokens = PromptEstimate.adding(usage.promptTokens, usage.completionTokens)
            if let settlement = try ledger.reservations.settle(requestID: exchange.requestID, costMsat: total, billedTokens: Int64(billedTokens)) {
                charged = settlement.chargedMsat
                balanceAfter = settlement.balanceMsat
                exchange.record.paymentSettled = true
            }
        } catch {
            Log.error("request \(exchange.requestID): settlement failed, reservation left for the sweeper: \(error)")
        }
        exchange.record.settlementMillis = Clock.monotonicMillis() - started
        exchange.record.promptTokens = usage.promptTokens
        exchange.record.completionTokens = usage.completionTokens
        exchange.record.usageEstimated = estimated
        exchange.record.costMsat = charged
        exchange.record.revenueMsat = charged
        exchange.record.upstreamCostMsat = cost.upstreamCostMsat
        var receipt = SettlementReceipt(costMsat: charged, promptTokens: usage.promptTokens, completionTokens: usage.completionTokens,
                                        pricingSource: priced.source.rawValue)
        if priced.model != quote.model { receipt.pricedModel = priced.model }
        if payer.perRequest {
            returnChange()
            receipt.changeToken = change?.token
        } else {
            receipt.balanceMsat = balanceAfter ?? (try? ledger.accounts.account(id: payer.account.parentID ?? accountID))?.balanceMsat
        }
        return receipt
    }

    /// Returns a whole reservation to the balance: the request failed, charge nothing. A
    /// per-request payment goes back whole as change, on whatever response goes out.
    func release(because reason: String) {
        let ledger = handler.ledger
        guard !done else { return }
        done = true
        if let sessionSlot { try? ledger.sessions.giveBack(sessionSlot) }
        do {
            try ledger.reservations.release(requestID: exchange.requestID, note: String(reason.prefix(200)))
        } catch {
            Log.error("request \(exchange.requestID): release failed, reservation left for the sweeper: \(error)")
        }
        returnWholeTokenAsChange()
    }

    /// Nothing was served (a refused hold, a failed request): a per-request token goes back as one
    /// `X-Cashu` token with everything, the upfront part included.
    func returnWholeTokenAsChange() {
        guard payer.perRequest else { return }
        returnChange()
        exchange.responseHeaders.removeAll { $0.0 == "X-Cashu" }
        if let token = ChangeTokens.merged([upfrontChange, change].compactMap { $0 }) {
            exchange.responseHeaders.append(("X-Cashu", token))
        }
    }

    /// Streams paid per request: sends what the token holds beyond the reservation now, for the
    /// `X-Cashu` response header. If the mint cannot be reached, it stays for the final change.
    func sendChangeAboveReservation() {
        guard payer.perRequest, upfrontChange == nil else { return }
        upfrontChange = sendBalance(naming: "upfront change")
        if let upfrontChange { exchange.responseHeaders.append(("X-Cashu", upfrontChange.token)) }
    }

    /// Sends a per-request token's remaining balance back as a token. If the mint cannot be
    /// reached now, the balance stays with the token: `POST /v1/wallet/refund` returns it later.
    func returnChange() {
        guard payer.perRequest, change == nil else { return }
        change = sendBalance(naming: "change")
    }

    /// What the token's account holds now, as a token from the mint it came from; nil if nothing
    /// could be sent (what is left stays with the token, for the final change or a refund).
    private func sendBalance(naming what: String) -> SentToken? {
        guard let wallet = try? handler.wallet() else { return nil }
        do {
            return try wallet.sendAll(accountID: accountID, mint: TokenAccount.mint(of: payer.account), requestID: exchange.requestID)
        } catch {
            Log.warning("request \(exchange.requestID): \(what) not sent now (\(error)); refundable with the original token")
            return nil
        }
    }
}

extension Exchange {
    /// Upstream 4xx are the client's own errors (bad parameter, rate limit): pass them on as they
    /// are when they are OpenAI-shaped. 401/403 are the gateway's own credentials failing, not
    /// the client's: 502. 503 and 529 (overloaded) become our 503 with the upstream's Retry-After.
    /// Anything else (5xx, HTML, empty bodies) becomes our 502. Either way nothing is charged.
    /// Words naming the operator's upstream account are scrubbed first (`UpstreamErrorScrub`).
    func relayUpstreamError(status: Int, body: [UInt8], retryAfter: String?, upstreamKeys: [String]) throws(APIError) {
        if status == 401 || status == 403 { throw .upstreamFailed("the upstream refused the gateway's credentials (\(status))") }
        if status == 503 || status == 529 {
            send(.serviceUnavailable("The upstream is overloaded (status \(status)); try again later. You were not charged."),
                 headers: [("Retry-After", retryAfter ?? "1")])
            return
        }
        if (400..<500).contains(status), let json = try? JSON.parse(body), json["error"] != nil {
            let scrubbed = UpstreamErrorScrub.scrub(json, secrets: upstreamKeys)
            send(status: status, json: scrubbed, headers: retryAfter.map { [("Retry-After", $0)] } ?? [])
            return
        }
        throw .upstreamFailed("status \(status)")
    }
}
