import SatmeterLedger
import SatmeterSupport
import SatmeterUpstream

/// Sends one paid request to its providers in order until one answers: a connection error,
/// timeout, 5xx or 429 before anything reached the client moves on to the next provider (and
/// counts against the failed one's circuit). Once a byte is relayed the provider is final.
/// Failed attempts charge nothing; the serving provider's fee prices the request.
final class ProviderAttempts {
    let handler: GatewayHandler
    let exchange: Exchange
    let settler: Settler
    let providers: [Provider]
    private(set) var attempts: [ProviderAttempt] = []

    init(handler: GatewayHandler, exchange: Exchange, settler: Settler, providers: [Provider]) {
        self.handler = handler
        self.exchange = exchange
        self.settler = settler
        self.providers = providers
    }

    private var breaker: CircuitBreaker { handler.services.router.breaker }

    /// Buffered calls: `deliver` gets the first answer that is not a provider failure (2xx, or a
    /// client error the provider reported, which is relayed uncharged).
    func buffered(_ build: (Provider) -> HTTPRequest, deliver: (HTTPResponse) throws(APIError) -> Void) throws(APIError) {
        let started = Clock.monotonicMillis()
        var lastResponse: HTTPResponse?
        var lastError: APIError = .upstreamFailed("no provider could be reached")
        for provider in providers {
            let attemptStarted = Clock.monotonicMillis()
            let response: HTTPResponse
            do {
                response = try handler.curl.send(build(provider), connectTimeout: Double(provider.connectTimeoutSeconds))
            } catch {
                failed(provider, status: nil, failure: "\(error)", since: attemptStarted)
                lastError = error.apiError
                lastResponse = nil
                continue
            }
            exchange.record.upstreamStatus = response.status
            if ProviderRouter.isRetryable(status: response.status) {
                failed(provider, status: response.status, failure: nil, since: attemptStarted)
                lastResponse = response
                continue
            }
            serving(provider, status: response.status, since: attemptStarted)
            exchange.record.upstreamMillis = Clock.monotonicMillis() - started
            guard (200..<300).contains(response.status) else {
                settler.release(because: "upstream status \(response.status)")
                try exchange.relayUpstreamError(status: response.status, body: response.body, retryAfter: response.header("Retry-After"),
                                                upstreamKeys: providers.map(\.apiKey))
                return
            }
            try deliver(response)
            return
        }
        exchange.record.upstreamMillis = Clock.monotonicMillis() - started
        settler.release(because: "every provider failed: " + attempts.map(\.description).joined(separator: ", "))
        if let lastResponse {
            try exchange.relayUpstreamError(status: lastResponse.status, body: lastResponse.body, retryAfter: lastResponse.header("Retry-After"),
                                            upstreamKeys: providers.map(\.apiKey))
            return
        }
        throw lastError
    }

    /// Streams: each provider gets the relay until one starts streaming or refuses for good.
    func stream(_ build: (Provider) -> HTTPRequest, withoutOptions: (Provider) -> HTTPRequest?, idle: (Provider) -> StreamIdleLimit,
                flavor: StreamFlavor, clientWantsUsage: Bool) {
        for (index, provider) in providers.enumerated() {
            let attemptStarted = Clock.monotonicMillis()
            let isLast = index == providers.count - 1
            // The settler learns the provider first: a stream settles inside the relay.
            settler.provider = provider
            exchange.record.provider = provider.name
            let relay = StreamRelay(handler: handler, exchange: exchange, settler: settler, clientWantsUsage: clientWantsUsage, flavor: flavor)
            let outcome = relay.run(build(provider), retryWithoutStreamOptions: withoutOptions(provider), idle: idle(provider),
                                    connectTimeout: Double(provider.connectTimeoutSeconds), canRetry: !isLast)
            switch outcome {
            case let .retryable(status, failure):
                failed(provider, status: status, failure: failure, since: attemptStarted)
            case let .final(status):
                if status == 0 || ProviderRouter.isRetryable(status: status) {
                    failed(provider, status: status == 0 ? nil : status, failure: status == 0 ? "no answer" : nil, since: attemptStarted)
                } else {
                    serving(provider, status: status, since: attemptStarted)
                }
                return
            }
        }
    }

    private func failed(_ provider: Provider, status: Int?, failure: String?, since: Int64) {
        let attempt = ProviderAttempt(provider: provider.name, status: status, failure: failure, millis: Clock.monotonicMillis() - since)
        attempts.append(attempt)
        breaker.recordFailure(provider.name)
        let wasLast = provider.name == providers.last?.name
        Log.warning("request \(exchange.requestID): provider \(attempt) failed" + (wasLast ? "" : ", trying the next"))
        if wasLast, attempts.count > 1 { ProviderAttemptLog.record(exchange: exchange, attempts: attempts, ledger: handler.ledger) }
    }

    private func serving(_ provider: Provider, status: Int, since: Int64) {
        breaker.recordSuccess(provider.name)
        settler.provider = provider
        exchange.record.provider = provider.name
        attempts.append(ProviderAttempt(provider: provider.name, status: status, failure: nil, millis: Clock.monotonicMillis() - since))
        if attempts.count > 1 { ProviderAttemptLog.record(exchange: exchange, attempts: attempts, ledger: handler.ledger) }
    }
}

/// One try of one provider (the ledger's `request_attempts` row).
typealias ProviderAttempt = Ledger.ProviderAttemptRow

extension Ledger.ProviderAttemptRow: CustomStringConvertible {
    public var description: String { "\(provider):" + (status.map(String.init) ?? failure ?? "?") + "/\(millis)ms" }
}

/// Writes a failed-over request's attempts to the ledger's `request_attempts` table.
enum ProviderAttemptLog {
    static func record(exchange: Exchange, attempts: [ProviderAttempt], ledger: Ledger) {
        do { try ledger.recordProviderAttempts(requestID: exchange.requestID, attempts) } catch {
            Log.warning("request \(exchange.requestID): provider attempts not recorded: \(error)")
        }
    }
}
