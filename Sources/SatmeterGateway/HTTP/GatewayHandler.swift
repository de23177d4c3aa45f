import SatmeterLedger
import SatmeterPricing
import SatmeterSupport
import SatmeterUpstream
import SatmeterWallet

/// The per-thread request handler: routes each request to its endpoint and turns every thrown
/// `APIError` into an OpenAI-shaped response, in one place.
public final class GatewayHandler: FastCGIHandler {
    package let services: GatewayServices
    let curl = CurlSession()
    private var openedWallet: NodeWallet?
    /// API key → its stored hash (SHA-256, hex): pure, so safe to keep (`ThreadMemo`).
    private let keyHashes = ThreadMemo<String, String>(capacity: 128)
    /// "address|user agent" → the client's reference (`Exchange.clientRef`).
    let clientRefs = ThreadMemo<String, String>(capacity: 128)
    /// A price → its text for the request log (`ModelPrice.summary`).
    let priceSummaries = ThreadMemo<ModelPrice.SummaryKey, String>(capacity: 128)

    public init(services: GatewayServices) {
        self.services = services
    }

    public func handle(_ request: FastCGIRequest) { handle(request as any RequestIO) }

    /// The whole request path for one request, whatever carried it (tests pass an `InMemoryRequest`).
    public func handle(_ request: any RequestIO) {
        let exchange = Exchange(request)
        do {
            try route(exchange)
        } catch {
            if !request.headersSent { exchange.send(error) } else { exchange.record.errorCode = error.code }
        }
        log(exchange)
    }

    /// Paid routes get a request-log record; free ones (model list, balance) do not.
    private func log(_ exchange: Exchange) {
        guard exchange.record.paymentMethod != nil || exchange.record.errorCode != nil else { return }
        exchange.record.status = exchange.io.status
        // Unknown paths share one label, so clients cannot grow the metrics without bound.
        if Endpoint(method: exchange.method, path: exchange.path).routeKey.isEmpty { exchange.record.route = "other" }
        exchange.record.totalMillis = Clock.monotonicMillis() - exchange.startedAt
        if services.requestLog.add(exchange.record) { services.requestLog.flush(into: ledger, inBackground: false) }
        if let path = services.config.admin.requestLogJSONL { RequestLogFile.append(exchange.record, to: path) }
        exchange.lap(.log)
    }

    private func route(_ exchange: Exchange) throws(APIError) {
        if let routstr = RoutstrRoute(method: exchange.method, path: exchange.path) {
            return try RoutstrEndpoints(handler: self, exchange: exchange).run(routstr)
        }
        if let lightning = LightningEndpoints.Route(method: exchange.method, path: exchange.path) {
            return try LightningEndpoints(handler: self, exchange: exchange).run(lightning)
        }
        let endpoint = Endpoint(method: exchange.method, path: exchange.path)
        switch endpoint {
        case .chatCompletions, .completions, .embeddings, .responses, .imageGenerations, .audioSpeech, .audioTranscriptions,
             .audioTranslations, .moderations, .messages:
            try OpenAIProxy(handler: self, exchange: exchange, endpoint: endpoint).run()
        case .models:
            listModels(exchange)
        case .responseObject:
            try ResponseObjectPassthrough(handler: self, exchange: exchange).run()
        case .walletBalance:
            try WalletEndpoints(handler: self, exchange: exchange).balance()
        case .walletCreate:
            try WalletEndpoints(handler: self, exchange: exchange).create()
        case .walletTopup:
            try WalletEndpoints(handler: self, exchange: exchange).topup()
        case .walletWithdraw:
            try WalletEndpoints(handler: self, exchange: exchange).withdraw()
        case .walletRefund:
            try WalletEndpoints(handler: self, exchange: exchange).refund()
        case .metrics:
            // nginx restricts /metrics to the operator's network (nginx/satmeter-locations.conf).
            let text: String
            do { text = try MetricsCatalog.render(ledger: ledger) + StageProfile.shared.render() } catch { throw error.apiError }
            exchange.send(status: 200, body: Array(text.utf8), contentType: "text/plain; version=0.0.4")
        case .admin:
            // The dashboard's JSON API; it checks its own session and CSRF token (Admin/AdminAPI.swift).
            try AdminAPI(handler: self, exchange: exchange).run()
        case let .wrongMethod(method):
            throw .methodNotAllowed(method)
        case .unknown:
            throw .notFound(exchange.path)
        }
    }

    /// The process's ledger (one connection, shared by all threads).
    var ledger: Ledger { services.ledger }

    /// This thread's node wallet (shares the thread's ledger connection and HTTP session).
    package func wallet() throws(APIError) -> NodeWallet {
        if let openedWallet { return openedWallet }
        let wallet = NodeWallet(ledger: ledger, config: services.config.cashu, keysets: services.keysets, http: curl)
        openedWallet = wallet
        return wallet
    }

    /// The account behind the request's bearer key; 401 when missing, unknown, disabled or expired.
    /// An account the request path needs to exist: storage failures mapped once, a missing one
    /// answered with `missing`.
    func existingAccount(_ lookup: (Ledger) throws(LedgerError) -> Account?, orElse missing: APIError) throws(APIError) -> Account {
        let found: Account?
        do { found = try lookup(ledger) } catch { throw error.apiError }
        guard let found else { throw missing }
        return found
    }

    /// `allowExpired`: an expired key stops paying for requests, but its holder can still see and
    /// take out what is left (balance, withdraw, refund).
    func authenticate(_ exchange: Exchange, allowExpired: Bool = false) throws(APIError) -> Account {
        guard let key = Credential(exchange.io, perRequest: false).bearer else { throw .missingAPIKey }
        return try authenticate(key: key, allowExpired: allowExpired)
    }

    func authenticate(key: String, allowExpired: Bool = false) throws(APIError) -> Account {
        guard key.hasPrefix("sk-"), key.utf8.count <= 256 else { throw .invalidAPIKey }
        let keyHash = keyHashes.value(for: key, APIKey.hash)
        let account = try existingAccount({ ledger throws(LedgerError) in try ledger.accounts.account(keyHash: keyHash) }, orElse: .invalidAPIKey)
        if account.disabled { throw .keyDisabled }
        if !allowExpired, account.isExpired(at: Clock.now()) { throw .keyExpired }
        return account
    }

    /// `GET /v1/models`: every model sold here with its price in USD and in sats (free, no key needed).
    private func listModels(_ exchange: Exchange) {
        exchange.send(status: 200, json: ProviderModelsListing(services: services).json())
    }

    static func upstreamHeaders(_ upstream: UpstreamConfig) -> [(String, String)] {
        var headers = [("Content-Type", "application/json"), ("Accept-Encoding", "identity"), ("User-Agent", "satmeter/1")]
        if !upstream.apiKey.isEmpty { headers.append(("Authorization", "Bearer \(upstream.apiKey)")) }
        return headers
    }
}

/// The API surface, decided from method and path alone.
enum Endpoint: Hashable {
    case chatCompletions, completions, embeddings, models, metrics
    case responses, imageGenerations, audioSpeech, audioTranscriptions, audioTranslations, moderations
    /// Anthropic's Messages API, for providers that speak it (`messages_api: true`).
    case messages
    /// GET/DELETE /v1/responses/{id} (and its sub-paths): passed through to the providers.
    case responseObject
    case walletBalance, walletCreate, walletTopup, walletWithdraw, walletRefund
    case wrongMethod(String)
    case unknown
    case admin

    init(method: String, path: String) {
        if path.hasPrefix("/admin/api/") {
            self = .admin
            return
        }
        var normalized = path
        while normalized.count > 1, normalized.hasSuffix("/") { normalized.removeLast() }
        // Some clients leave out the /v1 ("/chat/completions", "/models").
        if !normalized.hasPrefix("/v1/"), Self.table["/v1" + normalized] != nil, !normalized.hasPrefix("/wallet") {
            normalized = "/v1" + normalized
        }
        if normalized.hasPrefix("/v1/responses/"), normalized.count > 14 {
            self = ["GET", "DELETE", "POST"].contains(method) ? .responseObject : .wrongMethod(method)
            return
        }
        guard let (expected, endpoint) = Self.table[normalized] else {
            self = .unknown
            return
        }
        self = method == expected ? endpoint : .wrongMethod(method)
    }

    private static let table: [String: (String, Endpoint)] = [
            "/v1/chat/completions": ("POST", .chatCompletions),
            "/v1/completions": ("POST", .completions),
            "/v1/embeddings": ("POST", .embeddings),
            "/v1/models": ("GET", .models),
            "/v1/responses": ("POST", .responses),
            "/v1/images/generations": ("POST", .imageGenerations),
            "/v1/audio/speech": ("POST", .audioSpeech),
            "/v1/audio/transcriptions": ("POST", .audioTranscriptions),
            "/v1/audio/translations": ("POST", .audioTranslations),
            "/v1/moderations": ("POST", .moderations),
            "/v1/messages": ("POST", .messages),
            "/v1/wallet/balance": ("GET", .walletBalance),
            "/v1/wallet": ("GET", .walletBalance),
            "/v1/wallet/create": ("POST", .walletCreate),
            "/v1/wallet/topup": ("POST", .walletTopup),
            "/v1/wallet/withdraw": ("POST", .walletWithdraw),
            "/v1/wallet/refund": ("POST", .walletRefund),
            "/metrics": ("GET", .metrics),
        ]

    /// Route key as the pricing configuration names it.
    var routeKey: String {
        switch self {
        case .chatCompletions: "POST /v1/chat/completions"
        case .completions: "POST /v1/completions"
        case .embeddings: "POST /v1/embeddings"
        case .models: "GET /v1/models"
        case .responses: "POST /v1/responses"
        case .responseObject: "GET /v1/responses/{id}"
        case .imageGenerations: "POST /v1/images/generations"
        case .audioSpeech: "POST /v1/audio/speech"
        case .audioTranscriptions: "POST /v1/audio/transcriptions"
        case .audioTranslations: "POST /v1/audio/translations"
        case .moderations: "POST /v1/moderations"
        case .messages: "POST /v1/messages"
        case .walletBalance: "GET /v1/wallet/balance"
        case .walletCreate: "POST /v1/wallet/create"
        case .walletTopup: "POST /v1/wallet/topup"
        case .walletWithdraw: "POST /v1/wallet/withdraw"
        case .walletRefund: "POST /v1/wallet/refund"
        case .metrics: "GET /metrics"
        case .wrongMethod, .unknown: ""
        case .admin: "admin"
        }
    }

    var upstreamPath: String {
        switch self {
        case .chatCompletions: "/chat/completions"
        case .completions: "/completions"
        case .embeddings: "/embeddings"
        case .responses: "/responses"
        case .imageGenerations: "/images/generations"
        case .audioSpeech: "/audio/speech"
        case .audioTranscriptions: "/audio/transcriptions"
        case .audioTranslations: "/audio/translations"
        case .moderations: "/moderations"
        case .messages: "/messages"
        default: ""
        }
    }

    /// Uploads come as multipart forms; everything else is JSON.
    var takesMultipart: Bool { self == .audioTranscriptions || self == .audioTranslations }
}
