import Foundation
import Testing
@testable import SatmeterLedger

/// Issue 10, point 9: per-key requests/min, tokens/min and concurrent streams, decided in the
/// reservation's transaction.
@Suite struct KeyLimitsTests {
    final class MovableClock: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Int64 = 1_800_000_000
        var now: Int64 { lock.withLock { value } }
        func advance(_ seconds: Int64) { lock.withLock { value += seconds } }
    }

    func withLimitedKey(_ limits: KeyLimits, _ body: (Ledger, Int64, MovableClock) throws -> Void) throws {
        try withTemporaryLedger { _, path in
            let clock = MovableClock()
            let ledger = try Ledger(database: try Database.open(path), clock: { clock.now })
            let (_, key) = try ledger.accounts.createKey(balanceMsat: 1_000_000, limits: limits)
            try body(ledger, key.id, clock)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    func refusal(_ body: () throws -> Void) -> RateLimitRefusal? {
        do { try body() } catch let LedgerError.rateLimited(refusal) { return refusal } catch { return nil }
        return nil
    }

    @Test func requestsPerMinuteAdmitsTheLimitThenRefusesUntilTheWindowMoves() throws {
        try withLimitedKey(KeyLimits(requestsPerMinute: 3)) { ledger, id, clock in
            for i in 1...3 {
                let state = try #require(try ledger.reservations.reserve(accountID: id, amountMsat: 100, requestID: "r\(i)", owner: "w").rateLimit)
                #expect(state.remainingRequests == 3 - Int64(i))
                clock.advance(10)
            }
            let before = try #require(try ledger.accounts.account(id: id))
            let refused = try #require(refusal { try ledger.reservations.reserve(accountID: id, amountMsat: 100, requestID: "r4", owner: "w") })
            #expect(refused.limit == .requests && refused.state.requests == 3)
            // The oldest request (30 s ago) leaves the window in 30 s.
            #expect(refused.retryAfterSeconds == 30 && refused.state.resetSeconds == 30)
            // A refusal writes nothing: no reservation, no count, no balance moved.
            let after = try #require(try ledger.accounts.account(id: id))
            #expect(after == before)
            #expect(try ledger.reservations.heldReservations().count == 3)
            // Settled or not, admitted requests count until they leave the window.
            try ledger.reservations.settle(requestID: "r1", costMsat: 50)
            #expect(refusal { try ledger.reservations.reserve(accountID: id, amountMsat: 100, requestID: "r4", owner: "w") } != nil)
            clock.advance(31)
            try ledger.reservations.reserve(accountID: id, amountMsat: 100, requestID: "r4", owner: "w")
            for i in 2...4 { try ledger.reservations.settle(requestID: "r\(i)", costMsat: 10) }
        }
    }

    @Test func tokensPerMinuteCountsAdmittedTokensThenBilledOnes() throws {
        try withLimitedKey(KeyLimits(tokensPerMinute: 1_000)) { ledger, id, _ in
            let state = try #require(try ledger.reservations.reserve(accountID: id, amountMsat: 100, requestID: "a", owner: "w",
                                                                     admission: Admission(tokens: 600)).rateLimit)
            #expect(state.remainingTokens == 400)
            let refused = try #require(refusal {
                try ledger.reservations.reserve(accountID: id, amountMsat: 100, requestID: "b", owner: "w", admission: Admission(tokens: 500))
            })
            #expect(refused.limit == .tokens && refused.state.tokens == 600 && refused.requested == 500)
            // Settled at 100 billed tokens: 900 are free again.
            try ledger.reservations.settle(requestID: "a", costMsat: 10, billedTokens: 100)
            try ledger.reservations.reserve(accountID: id, amountMsat: 100, requestID: "b", owner: "w", admission: Admission(tokens: 500))
            // A released (failed) request counts no tokens.
            try ledger.reservations.release(requestID: "b")
            try ledger.reservations.reserve(accountID: id, amountMsat: 100, requestID: "c", owner: "w", admission: Admission(tokens: 900))
            try ledger.reservations.settle(requestID: "c", costMsat: 10, billedTokens: 900)
            // More than the whole limit can never pass.
            let tooLarge = try #require(refusal {
                try ledger.reservations.reserve(accountID: id, amountMsat: 100, requestID: "d", owner: "w", admission: Admission(tokens: 5_000))
            })
            #expect(tooLarge.requested > tooLarge.state.limits.tokensPerMinute ?? 0)
        }
    }

    @Test func concurrentStreamsCountHeldStreamsAndTheSweeperFreesADeadWorkersSlot() throws {
        try withLimitedKey(KeyLimits(concurrentStreams: 2)) { ledger, id, clock in
            let stream = Admission(tokens: 10, stream: true)
            try ledger.reservations.reserve(accountID: id, amountMsat: 100, requestID: "s1", owner: "dead", admission: stream)
            try ledger.reservations.reserve(accountID: id, amountMsat: 100, requestID: "s2", owner: "live", admission: stream)
            clock.advance(600)  // long streams stay counted past the minute
            let refused = try #require(refusal { try ledger.reservations.reserve(accountID: id, amountMsat: 100, requestID: "s3", owner: "w", admission: stream) })
            #expect(refused.limit == .streams && refused.state.streams == 2 && refused.retryAfterSeconds == 1)
            // Not a stream: not limited by it.
            try ledger.reservations.reserve(accountID: id, amountMsat: 100, requestID: "plain", owner: "w")
            try ledger.reservations.settle(requestID: "plain", costMsat: 1)
            #expect(try ledger.reservations.releaseAbandoned(owner: "dead") == 1)
            try ledger.reservations.reserve(accountID: id, amountMsat: 100, requestID: "s3", owner: "w", admission: stream)
            try ledger.reservations.settle(requestID: "s2", costMsat: 5)
            try ledger.reservations.settle(requestID: "s3", costMsat: 5)
        }
    }

    /// Two connections to one file (as two worker processes have), many threads each: exactly the limit passes.
    @Test func aBurstFromManyThreadsAndConnectionsAdmitsExactlyTheLimit() throws {
        try withTemporaryLedger { first, path in
            let second = try Ledger(path: path)
            let (_, key) = try first.accounts.createKey(balanceMsat: 1_000_000, limits: KeyLimits(requestsPerMinute: 7))
            let admitted = Counter()
            DispatchQueue.concurrentPerform(iterations: 40) { i in
                let ledger = i % 2 == 0 ? first : second
                if (try? ledger.reservations.reserve(accountID: key.id, amountMsat: 10, requestID: "r\(i)", owner: "w")) != nil { admitted.add() }
            }
            #expect(admitted.value == 7)
            #expect(try first.reservations.heldReservations().count == 7)
            #expect(try first.reports.audit().isEmpty)
        }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        var value: Int { lock.withLock { count } }
        func add() { lock.withLock { count += 1 } }
    }

    @Test func hostileValuesAreRefusedClearlyAndNoneIsUnlimited() throws {
        for bad in [KeyLimits(requestsPerMinute: 0), KeyLimits(tokensPerMinute: -1), KeyLimits(concurrentStreams: .max),
                    KeyLimits(requestsPerMinute: KeyLimits.maxRequestsPerMinute + 1)] {
            #expect(throws: LedgerError.self) { try bad.checked() }
        }
        #expect(try KeyLimits.parse("none", name: "x") == nil)
        #expect(try KeyLimits.parse(" Unlimited ", name: "x") == nil)
        #expect(try KeyLimits.parse("60", name: "x") == 60)
        for text in ["abc", "1e9", "", "99999999999999999999999", "-99999999999999999999999"] {
            #expect(throws: LedgerError.self) { try KeyLimits.parse(text, name: "x") }
        }
        try withLimitedKey(KeyLimits()) { ledger, id, _ in
            #expect(throws: LedgerError.self) { try ledger.accounts.setKeyLimits(accountID: id, KeyLimits(requestsPerMinute: 0)) }
            #expect(throws: LedgerError.unknownAccount) { try ledger.accounts.setKeyLimits(accountID: 999, KeyLimits(requestsPerMinute: 1)) }
            // Unlimited: no state, nothing extra read.
            #expect(try ledger.reservations.reserve(accountID: id, amountMsat: 1, requestID: "u", owner: "w", admission: Admission(tokens: .max)).rateLimit == nil)
            try ledger.reservations.settle(requestID: "u", costMsat: 1)
            try ledger.accounts.setKeyLimits(accountID: id, KeyLimits(requestsPerMinute: 5, concurrentStreams: 1))
            #expect(try ledger.accounts.account(id: id)?.limits == KeyLimits(requestsPerMinute: 5, concurrentStreams: 1))
        }
    }
}
