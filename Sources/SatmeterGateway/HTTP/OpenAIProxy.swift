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
///   actually returned, about 4 bytes a token, prompt from our own upper bound;
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
    private var upstream: UpstreamConfig { services.config.upstream }

    func run() throws(APIError) {
        exchange.record.route = endpoint.routeKey
        let gate = PaymentGate(handler: handler, exchange: exchange)
        let credential = try gate.credential()
        var body = try exchange.readJSONBody(limit: services.config.maxBodyBytes)
        let request = try ProxiedRequest(body: body, endpoint: endpoint)
        exchange.record.model = request.model
        let headers = exchange.io.httpHeaders
        let quote: PriceQuote
        let pricingRequest = PricingRequest(
            route: endpoint.routeKey, model: request.model, headers: headers, body: body,
            estimatedPromptTokens: request.promptTokenBound, maxCompletionTokens: request.maxCompletionTokens)
        do {
            quote = try services.pricing.quote(pricingRequest)
        } catch { throw error.apiError }
        exchange.record.pricingMode = quote.mode.rawValue
        exchange.record.pricingSource = quote.source.rawValue
        exchange.record.resolvedPrice = quote.resolvedPrice
        exchange.record.provider = quote.upstream ?? "default"
        exchange.record.paymentRequiredMsat = quote.maxCostMsat

        let payer = try gate.payer(for: credential, maxCostMsat: quote.maxCostMsat, model: request.model)
        exchange.record.accountID = payer.account.id
        exchange.record.paymentMethod = payer.perRequest ? "x-cashu" : (payer.account.kind == .key ? "key" : "token")
        let ledger = handler.ledger
        let settler = Settler(handler: handler, exchange: exchange, quote: quote, request: request, payer: payer)
        settler.pricingRequest = pricingRequest
        do {
            try ledger.reservations.reserve(accountID: payer.account.id, amountMsat: quote.maxCostMsat, requestID: exchange.requestID, owner: services.owner,
                               model: request.model)
        } catch {
            // A per-request token was received already: it all goes back as change.
            settler.returnChange()
            throw error.apiError
        }

        let clientBody = body
        if request.stream, endpoint.acceptsStreamOptions {
            // Usage must come back in the stream, whatever the client asked for.
            var options = body["stream_options"] ?? [:]
            if case .object = options {} else { options = [:] }
            options.set("include_usage", true)
            body.set("stream_options", options)
        }
        let forwarded = headers.filter { upstream.forwards($0.key) }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let upstreamRequest = HTTPRequest(method: "POST", url: upstream.baseURL + endpoint.upstreamPath,
                                          headers: GatewayHandler.upstreamHeaders(upstream) + forwarded, body: body.serializedBytes,
                                          timeout: Double(upstream.timeoutSeconds))
        if request.stream {
            var withoutOptions = upstreamRequest
            withoutOptions.body = clientBody.serializedBytes
            StreamRelay(handler: handler, exchange: exchange, settler: settler, clientWantsUsage: request.clientWantsUsage)
                .run(upstreamRequest, retryWithoutStreamOptions: clientBody == body ? nil : withoutOptions,
                     idle: StreamIdleLimit(upstream, reasoningRequested: ReasoningSilence.requested(by: clientBody)))
        } else {
            try forward(upstreamRequest, settler: settler)
        }
    }

    /// Non-streaming: buffer the upstream answer, settle, then respond with the cost in headers.
    private func forward(_ request: HTTPRequest, settler: Settler) throws(APIError) {
        let response: HTTPResponse
        let started = Clock.monotonicMillis()
        do {
            response = try handler.curl.send(request)
            exchange.record.upstreamMillis = Clock.monotonicMillis() - started
            exchange.record.upstreamStatus = response.status
        } catch {
            exchange.record.upstreamMillis = Clock.monotonicMillis() - started
            settler.release(because: "upstream \(error)")
            throw error.apiError
        }
        guard (200..<300).contains(response.status) else {
            settler.release(because: "upstream status \(response.status)")
            try exchange.relayUpstreamError(status: response.status, body: response.body, retryAfter: response.header("Retry-After"))
            return
        }
        guard let json = try? JSON.parse(response.body), case .object = json else {
            settler.release(because: "upstream sent invalid JSON")
            throw .upstreamFailed("the upstream answered with invalid JSON")
        }
        let reported = UpstreamUsage.found(in: json)
        if let failure = ErrorUnder200.message(json: json) {
            // An error under 200 (OpenRouter): the reported usage if any, else nothing.
            try settler.failUnder200(failure, reported: reported, response: response)
            return
        }
        settler.servedModel = ServedModel.named(in: json)
        let usage = reported ?? settler.estimate(outputTextBytes: PromptEstimate.textBytes(json["choices"] ?? json["data"] ?? json["output"] ?? .null))
        let receipt = settler.settle(usage: usage, estimated: reported == nil)
        exchange.send(status: response.status, body: response.body, contentType: "application/json", headers: receipt?.headers ?? [])
    }
}

/// What the proxy needs to know about a client's request body, validated.
struct ProxiedRequest {
    var model: String
    var stream: Bool
    var clientWantsUsage: Bool
    var maxCompletionTokens: Int?
    var promptTokenBound: Int

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
            maxCompletionTokens = maxCompletionTokens.map { min($0, Int(n)) } ?? Int(n)
        }
        if endpoint == .embeddings { maxCompletionTokens = 0 }
        // Pricing reserves for at most `maxChoices`; a larger n would be served beyond what was reserved.
        if let value = body["n"], value != .null {
            guard let n = value.int64Value, n >= 1, n <= Int64(Self.maxChoices) else {
                throw .invalidRequest("'n' must be a whole number from 1 to \(Self.maxChoices)")
            }
        }
        promptTokenBound = PromptEstimate.upperBound(for: body)
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
    /// What the quote priced, kept to price the served model when the upstream names another.
    var pricingRequest: PricingRequest?
    /// The model the upstream says it served.
    var servedModel: String?

    init(handler: GatewayHandler, exchange: Exchange, quote: PriceQuote, request: ProxiedRequest, payer: Payer) {
        self.handler = handler
        self.exchange = exchange
        self.quote = quote
        self.request = request
        self.payer = payer
    }

    private var accountID: Int64 { payer.account.id }

    /// Usage when the upstream reported none: our prompt bound (in estimated tokens) and the
    /// text that came back.
    func estimate(outputTextBytes: Int) -> UpstreamUsage {
        UpstreamUsage(promptTokens: PromptEstimate.tokens(inTextBytes: request.promptTokenBound),
                      completionTokens: PromptEstimate.tokens(inTextBytes: outputTextBytes))
    }

    /// Charges the usage; returns what the client is told it paid (nil if already settled).
    @discardableResult
    func settle(usage: UpstreamUsage, estimated: Bool) -> SettlementReceipt? {
        let ledger = handler.ledger
        guard !done else { return nil }
        done = true
        let started = Clock.monotonicMillis()
        let priced = quoteForServedModel()
        let cost = priced.cost(for: Usage(usage))
        var charged = cost.totalMsat
        do {
            if let settlement = try ledger.reservations.settle(requestID: exchange.requestID, costMsat: cost.totalMsat) {
                charged = settlement.chargedMsat
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
            receipt.balanceMsat = (try? ledger.accounts.account(id: payer.account.parentID ?? accountID))?.balanceMsat
        }
        return receipt
    }

    /// Returns a whole reservation to the balance: the request failed, charge nothing. A
    /// per-request payment goes back whole as change, on whatever response goes out.
    func release(because reason: String) {
        let ledger = handler.ledger
        guard !done else { return }
        done = true
        do {
            try ledger.reservations.release(requestID: exchange.requestID, note: String(reason.prefix(200)))
        } catch {
            Log.error("request \(exchange.requestID): release failed, reservation left for the sweeper: \(error)")
        }
        if payer.perRequest {
            returnChange()
            if let change { exchange.responseHeaders.append(("X-Cashu", change.token)) }
        }
    }

    /// Sends a per-request token's remaining balance back as a token. If the mint cannot be
    /// reached now, the balance stays with the token: `POST /v1/wallet/refund` returns it later.
    func returnChange() {
        guard payer.perRequest, change == nil, let wallet = try? handler.wallet() else { return }
        do {
            change = try wallet.sendAll(accountID: accountID, mint: TokenAccount.mint(of: payer.account), requestID: exchange.requestID)
        } catch {
            Log.warning("request \(exchange.requestID): change not sent now (\(error)); refundable with the original token")
        }
    }
}

extension Exchange {
    /// Upstream 4xx are the client's own errors (bad parameter, rate limit): pass them on as they
    /// are when they are OpenAI-shaped. 401/403 are the gateway's own credentials failing, not
    /// the client's: 502. 503 and 529 (overloaded) become our 503 with the upstream's Retry-After.
    /// Anything else (5xx, HTML, empty bodies) becomes our 502. Either way nothing is charged.
    func relayUpstreamError(status: Int, body: [UInt8], retryAfter: String?) throws(APIError) {
        if status == 401 || status == 403 { throw .upstreamFailed("the upstream refused the gateway's credentials (\(status))") }
        if status == 503 || status == 529 {
            send(.serviceUnavailable("The upstream is overloaded (status \(status)); try again later. You were not charged."),
                 headers: [("Retry-After", retryAfter ?? "1")])
            return
        }
        if (400..<500).contains(status), let json = try? JSON.parse(body), json["error"] != nil {
            send(status: status, json: json, headers: retryAfter.map { [("Retry-After", $0)] } ?? [])
            return
        }
        throw .upstreamFailed("status \(status)")
    }
}
