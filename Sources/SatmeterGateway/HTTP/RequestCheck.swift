/// The checks a client's request meets before any key, payment or upstream call (route, body,
/// `ProxiedRequest`), as one public entry point for the fuzz harnesses (Fuzz/) and tools.
public enum RequestCheck {
    /// What the proxy took from a valid body.
    public struct Summary: Sendable, Equatable {
        /// The pricing route key, e.g. "POST /v1/chat/completions".
        public var route: String
        public var model: String
        public var stream: Bool
        public var maxCompletionTokens: Int?
        public var promptTokenBound: Int
    }

    /// `method` and `path` as nginx passes them. Nil for routes that take no body; otherwise the
    /// summary, or the `APIError` the client would get.
    public static func validate(method: String, path: String, body: [UInt8]) throws(APIError) -> Summary? {
        let endpoint = Endpoint(method: method, path: path)
        switch endpoint {
        case .chatCompletions, .completions, .embeddings, .responses, .imageGenerations, .audioSpeech, .moderations, .messages:
            let request = try ProxiedRequest(body: Exchange.jsonBody(body), endpoint: endpoint)
            return Summary(route: endpoint.routeKey, model: request.model, stream: request.stream,
                           maxCompletionTokens: request.maxCompletionTokens, promptTokenBound: request.promptTokenBound)
        case .audioTranscriptions, .audioTranslations, .responseObject, .models, .metrics, .admin, .walletBalance, .walletCreate, .walletTopup, .walletWithdraw, .walletRefund: return nil
        case let .wrongMethod(method): throw .methodNotAllowed(method)
        case .unknown: throw .notFound(path)
        }
    }
}
