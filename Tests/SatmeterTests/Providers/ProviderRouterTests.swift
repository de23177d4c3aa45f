import Synchronization
import Testing
@testable import SatmeterUpstream
import SatmeterSupport

@Suite struct ProviderRouterTests {
    private func provider(_ name: String, priority: Int, models: [String] = [], index: Int = 0) -> Provider {
        var p = Provider(name: name, baseURL: "http://127.0.0.1:1/v1")
        p.priority = priority
        p.models = models.map(ModelPattern.init)
        p.index = index
        return p
    }

    @Test func candidatesServeTheModelInPriorityOrder() {
        let router = ProviderRouter(providers: [
            provider("b", priority: 2, index: 0), provider("a", priority: 1, models: ["gpt-4o*"], index: 1),
            provider("c", priority: 1, models: ["claude-*"], index: 2),
        ])
        #expect(router.candidates(model: "gpt-4o-mini", pinned: nil).map(\.name) == ["a", "b"])
        #expect(router.candidates(model: "claude-3", pinned: nil).map(\.name) == ["c", "b"])
        #expect(router.candidates(model: "gpt-4o", pinned: "b").map(\.name) == ["b"])
        // A pin naming no provider (a label from an older config) routes as usual.
        #expect(router.candidates(model: "gpt-4o", pinned: "openai").map(\.name) == ["a", "b"])
    }

    @Test func anOpenCircuitGoesLastUntilItCoolsDown() {
        let now = Mutex<Int64>(0)
        let breaker = CircuitBreaker(settings: .init(threshold: 2, cooldownMillis: 1000), clock: { now.withLock { $0 } })
        let router = ProviderRouter(providers: [provider("a", priority: 1), provider("b", priority: 2)], breaker: breaker)
        breaker.recordFailure("a")
        #expect(router.candidates(model: "m", pinned: nil).map(\.name) == ["a", "b"])  // one failure: still first
        breaker.recordFailure("a")
        #expect(router.candidates(model: "m", pinned: nil).map(\.name) == ["b", "a"])
        #expect(breaker.isOpen("a"))
        now.withLock { $0 = 1001 }
        #expect(router.candidates(model: "m", pinned: nil).map(\.name) == ["a", "b"])  // half open: probed again
        breaker.recordFailure("a")
        #expect(router.candidates(model: "m", pinned: nil).map(\.name) == ["b", "a"])
        breaker.recordSuccess("a")
        #expect(!breaker.isOpen("a"))
    }

    @Test func feesRoundUpAndSaturate() {
        var p = provider("a", priority: 1)
        p.feePPM = 1_500_000
        #expect(p.applyingFee(1001) == 1502)
        #expect(p.applyingFee(0) == 0)
        #expect(p.applyingFee(Int64.max) == Int64.max)
        p.modelNames = ["gpt-4o": "openai/gpt-4o"]
        #expect(p.upstreamModel(for: "gpt-4o") == "openai/gpt-4o" && p.serves("gpt-4o"))
    }
}
