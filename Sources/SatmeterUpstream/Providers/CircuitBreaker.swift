import Synchronization
import SatmeterSupport

/// Per-process health of each provider: after `threshold` consecutive failures a provider is
/// skipped (tried only when nothing healthy is left) for `cooldownMillis`; then requests probe
/// it again, and a success closes the circuit.
public final class CircuitBreaker: Sendable {
    public struct Settings: Sendable {
        public var threshold = 2
        public var cooldownMillis: Int64 = 30_000
        public init(threshold: Int = 2, cooldownMillis: Int64 = 30_000) {
            self.threshold = threshold
            self.cooldownMillis = cooldownMillis
        }
    }

    private struct Health {
        var consecutiveFailures = 0
        var openUntil: Int64 = 0
    }

    public let settings: Settings
    private let state = Mutex<[String: Health]>([:])
    private let clock: @Sendable () -> Int64

    public init(settings: Settings = Settings(), clock: @escaping @Sendable () -> Int64 = { Clock.monotonicMillis() }) {
        self.settings = settings
        self.clock = clock
    }

    /// True when the provider may take a request now: its circuit is closed, or open but past its
    /// cooldown (half open: requests probe it; one more failure opens it again for a cooldown,
    /// a success closes it). Asking changes nothing, so a provider that is not tried after all
    /// loses no probe.
    public func admits(_ name: String) -> Bool {
        let now = clock()
        return state.withLock { all in
            guard let health = all[name], health.consecutiveFailures >= settings.threshold else { return true }
            return now >= health.openUntil
        }
    }

    public func recordSuccess(_ name: String) {
        state.withLock { $0[name] = Health() }
    }

    public func recordFailure(_ name: String) {
        let now = clock()
        state.withLock { all in
            var health = all[name] ?? Health()
            health.consecutiveFailures += 1
            if health.consecutiveFailures >= settings.threshold { health.openUntil = now + settings.cooldownMillis }
            all[name] = health
        }
    }

    /// Names whose circuit is open now (for the models listing and metrics).
    public func isOpen(_ name: String) -> Bool {
        let now = clock()
        return state.withLock { all in
            guard let health = all[name] else { return false }
            return health.consecutiveFailures >= settings.threshold && now < health.openUntil
        }
    }
}
