import SatmeterSupport

/// Decides which providers a request may go to, in which order, and keeps their health.
public final class ProviderRouter: Sendable {
    /// Sorted: priority, then the order written.
    public let providers: [Provider]
    /// A client's model name → the model it stands for (`model_aliases`).
    public let aliases: [String: String]
    public let breaker: CircuitBreaker

    public init(providers: [Provider], aliases: [String: String] = [:], breaker: CircuitBreaker = CircuitBreaker()) {
        self.providers = providers.sorted { ($0.priority, $0.index) < ($1.priority, $1.index) }
        self.aliases = aliases
        self.breaker = breaker
    }

    public func provider(named name: String) -> Provider? { providers.first { $0.name == name } }

    /// The model a client's name stands for (aliases do not chain).
    public func resolve(model: String) -> String { aliases[model] ?? model }

    /// The providers to try for `model`, best first. `pinned` (a route's or match rule's
    /// `upstream:`) names the one provider to use, when it names one. Providers whose circuit is
    /// open go last instead of being dropped: a request another could serve is never lost, and
    /// a request nothing healthy can serve still gets a try.
    public func candidates(model: String, pinned: String?) -> [Provider] {
        if let pinned, let provider = provider(named: pinned) { return [provider] }
        let serving = providers.filter { $0.serves(model) }
        var healthy: [Provider] = []
        var resting: [Provider] = []
        for provider in serving {
            if breaker.admits(provider.name) { healthy.append(provider) } else { resting.append(provider) }
        }
        return healthy + resting
    }
}

extension ProviderRouter {
    /// Worth trying the next provider: nothing was relayed and the failure is the provider's
    /// (5xx, 429), not the client's (other 4xx).
    public static func isRetryable(status: Int) -> Bool { status == 429 || status >= 500 }
}
