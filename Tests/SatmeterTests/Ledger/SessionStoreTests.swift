import Foundation
import Synchronization
import Testing
@testable import SatmeterLedger

/// Issue 16, point 4: a window's flat price is taken once per key, product and window; caps hold.
@Suite struct SessionStoreTests {
    func admit(_ ledger: Ledger, _ keyID: Int64, start: Int64 = 3600, maxRequests: Int64? = 3, maxTokens: Int64? = 1_000,
               bound: Int64 = 100) throws -> SessionStore.Admission {
        try ledger.sessions.admit(keyID: keyID, product: "batch", windowStart: start, windowEnd: start + 3600, maxRequests: maxRequests,
                                  maxTokens: maxTokens, tokenBound: bound, model: "gpt-4o")
    }

    func slot(_ admission: SessionStore.Admission) throws -> SessionSlot {
        guard case let .admitted(slot) = admission else { throw LedgerError.invalidAmount }
        return slot
    }

    @Test func concurrentFirstRequestsPayTheWindowOnce() throws {
        try withTemporaryLedger { ledger, path in
            let (_, key) = try ledger.accounts.createKey(balanceMsat: 10_000)
            let racers = 8
            let slots = try (0..<racers).map { _ in try slot(try admit(ledger, key.id, maxRequests: 10, maxTokens: nil)) }
            #expect(slots.allSatisfy { $0.purchase })
            // Each first request holds the price (the balance covers five of them)…
            var held: [Int] = []
            for (i, slot) in slots.enumerated() {
                do {
                    try ledger.reservations.reserve(accountID: key.id, amountMsat: 2_000, requestID: "r\(i)", owner: "w")
                    held.append(i)
                } catch { try ledger.sessions.giveBack(slot) }
            }
            #expect(held.count == 5)
            let holders = held
            // …and settle from several connections at once: one pays, the others are released.
            let charged = Mutex<[Int64]>([])
            DispatchQueue.concurrentPerform(iterations: holders.count) { n in
                let i = holders[n]
                let own = try? Ledger(path: path)
                let cost = (try? own?.sessions.settle(slots[i], requestID: "r\(i)", usedTokens: 40, priceMsat: 2_000)) ?? -1
                charged.withLock { $0.append(cost) }
            }
            let costs = charged.withLock { $0.sorted() }
            #expect(costs == [0, 0, 0, 0, 2_000])
            #expect(try ledger.accounts.account(id: key.id)?.balanceMsat == 8_000)
            let row = try #require(try ledger.sessions.window(keyID: key.id, product: "batch", windowStart: 3600))
            #expect(row.requests == 5 && row.tokens == 200 && row.paidMsat == 2_000)
            // Later requests of the window do not buy it again.
            #expect(try slot(try admit(ledger, key.id, maxRequests: 10, maxTokens: nil)).purchase == false)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    @Test func capsRefuseAndAFailedRequestGivesItsCountBack() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, key) = try ledger.accounts.createKey(balanceMsat: 10_000)
            let first = try slot(try admit(ledger, key.id))
            _ = try slot(try admit(ledger, key.id))
            let third = try slot(try admit(ledger, key.id))
            #expect(try admit(ledger, key.id) == .capReached(requests: 3, tokens: 300))
            try ledger.sessions.giveBack(third)
            _ = try slot(try admit(ledger, key.id))
            // The token cap counts the worst case at admission, then what was used.
            #expect(try admit(ledger, key.id, maxRequests: 100, bound: 800) == .capReached(requests: 3, tokens: 300))
            try ledger.reservations.reserve(accountID: key.id, amountMsat: 1_000, requestID: "first", owner: "w")
            #expect(try ledger.sessions.settle(first, requestID: "first", usedTokens: 10, priceMsat: 1_000) == 1_000)
            _ = try slot(try admit(ledger, key.id, maxRequests: 100, bound: 790))
            // A huge client bound cannot overflow the counter; it is refused by the cap.
            #expect(try admit(ledger, key.id, maxRequests: 100, bound: .max) == .capReached(requests: 4, tokens: 1_000))
            // The next window is a new purchase with fresh caps.
            #expect(try slot(try admit(ledger, key.id, start: 7200)).purchase)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    @Test func aReleasedHoldCannotPayAndThePurchaseCannotBeWithdrawnTwice() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, key) = try ledger.accounts.createKey(balanceMsat: 0)
            try ledger.accounts.credit(accountID: key.id, amountMsat: 3_000, kind: .deposit)
            let a = try slot(try admit(ledger, key.id))
            try ledger.reservations.reserve(accountID: key.id, amountMsat: 2_000, requestID: "a", owner: "w")
            // The sweeper released the hold: settling must not mark the window paid for nothing.
            try ledger.reservations.release(requestID: "a", note: "abandoned")
            #expect(try ledger.sessions.settle(a, requestID: "a", usedTokens: 1, priceMsat: 2_000) == 0)
            #expect(try ledger.sessions.window(keyID: key.id, product: "batch", windowStart: 3600)?.paidRequestID == nil)
            let b = try slot(try admit(ledger, key.id))
            #expect(b.purchase)
            try ledger.reservations.reserve(accountID: key.id, amountMsat: 2_000, requestID: "b", owner: "w")
            #expect(try ledger.sessions.settle(b, requestID: "b", usedTokens: 1, priceMsat: 2_000) == 2_000)
            // Only what is left after the purchase can leave the node.
            #expect(try ledger.accounts.withdrawableMsat(accountID: key.id) == 1_000)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }
}
