import Foundation
import Testing
@testable import SatmeterLedger

@Suite struct KeyPolicyTests {
    @Test func aVersionOneDatabaseGainsTheNewColumnsAndKeepsItsRows() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("satmeter-migrate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("satmeter.db").path
        do {
            let old = try Database(path: path)
            try old.execute(Schema.statements)
            try old.execute("INSERT INTO meta(name, value) VALUES ('schema_version', '1')")
            try old.execute("INSERT INTO accounts(key_hash, key_hint, created_at, balance_msat) VALUES ('h', 'sk-1…', 1, 0)")
        }
        let ledger = try Ledger(path: path)
        let account = try #require(try ledger.accounts.account(keyHash: "h"))
        #expect(account.parentID == nil && account.spendLimitMsat == nil && account.allowedModels == nil)
        #expect(try ledger.db.queryOne("SELECT value FROM meta WHERE name = 'schema_version'")?.text("value") == String(Schema.version))
        // Opening again is a no-op.
        _ = try Ledger(path: path)
        try ledger.accounts.setSpendLimit(accountID: account.id, 5)
        #expect(try ledger.accounts.account(id: account.id)?.spendLimitMsat == 5)
    }

    @Test func aChildSpendsItsParentsBalanceAndTheBooksBalance() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, parent) = try ledger.accounts.createKey(balanceMsat: 10_000)
            let (childKey, child) = try ledger.accounts.createChildKey(parentID: parent.id, label: "app")
            #expect(try ledger.accounts.account(apiKey: childKey)?.parentID == parent.id)
            try ledger.reservations.reserve(accountID: child.id, amountMsat: 4_000, requestID: "r1", owner: "w")
            #expect(try ledger.accounts.account(id: parent.id)?.balanceMsat == 6_000)
            #expect(try ledger.accounts.account(id: child.id)?.balanceMsat == 0)
            try ledger.reservations.settle(requestID: "r1", costMsat: 1_500)
            let after = try #require(try ledger.accounts.account(id: parent.id))
            #expect(after.balanceMsat == 8_500 && after.totalSpentMsat == 1_500)
            let childAfter = try #require(try ledger.accounts.account(id: child.id))
            #expect(childAfter.totalSpentMsat == 1_500 && childAfter.requestCount == 1 && childAfter.lastUsedAt != nil)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    @Test func aChildNeverPassesItsOwnLimitEvenWithRequestsInFlight() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, parent) = try ledger.accounts.createKey(balanceMsat: 100_000)
            let (_, child) = try ledger.accounts.createChildKey(parentID: parent.id, spendLimitMsat: 5_000)
            try ledger.reservations.reserve(accountID: child.id, amountMsat: 3_000, requestID: "r1", owner: "w")
            #expect(throws: LedgerError.spendingLimitReached(limitMsat: 5_000)) {
                try ledger.reservations.reserve(accountID: child.id, amountMsat: 3_000, requestID: "r2", owner: "w")
            }
            try ledger.reservations.settle(requestID: "r1", costMsat: 2_000)
            try ledger.reservations.reserve(accountID: child.id, amountMsat: 3_000, requestID: "r3", owner: "w")
            #expect(throws: LedgerError.spendingLimitReached(limitMsat: 5_000)) {
                try ledger.reservations.reserve(accountID: child.id, amountMsat: 1, requestID: "r4", owner: "w")
            }
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    @Test func aChildNeverOverdrawsItsParent() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, parent) = try ledger.accounts.createKey(balanceMsat: 5_000)
            let (_, a) = try ledger.accounts.createChildKey(parentID: parent.id)
            let (_, b) = try ledger.accounts.createChildKey(parentID: parent.id)
            try ledger.reservations.reserve(accountID: a.id, amountMsat: 4_000, requestID: "r1", owner: "w")
            #expect(throws: LedgerError.insufficientBalance(availableMsat: 1_000, requiredMsat: 2_000)) {
                try ledger.reservations.reserve(accountID: b.id, amountMsat: 2_000, requestID: "r2", owner: "w")
            }
            // A child cannot withdraw the parent's money either.
            #expect(throws: LedgerError.insufficientBalance(availableMsat: 0, requiredMsat: 1_000)) {
                try ledger.accounts.debit(accountID: b.id, amountMsat: 1_000)
            }
        }
    }

    @Test func aParentsLimitCountsTheWholeFamily() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, parent) = try ledger.accounts.createKey(balanceMsat: 100_000)
            try ledger.accounts.setSpendLimit(accountID: parent.id, 6_000)
            let (_, child) = try ledger.accounts.createChildKey(parentID: parent.id)
            try ledger.reservations.reserve(accountID: child.id, amountMsat: 4_000, requestID: "r1", owner: "w")
            #expect(throws: LedgerError.spendingLimitReached(limitMsat: 6_000)) {
                try ledger.reservations.reserve(accountID: parent.id, amountMsat: 3_000, requestID: "r2", owner: "w")
            }
            try ledger.reservations.reserve(accountID: parent.id, amountMsat: 2_000, requestID: "r3", owner: "w")
        }
    }

    @Test func modelsMustBeAllowedByTheKeyAndItsParent() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, parent) = try ledger.accounts.createKey(balanceMsat: 100_000)
            try ledger.accounts.setAllowedModels(accountID: parent.id, ["gpt-4o*", "text-embedding-3-small"])
            let (_, child) = try ledger.accounts.createChildKey(parentID: parent.id, allowedModels: ["gpt-4o-mini", "text-embedding-3-small"])
            try ledger.reservations.reserve(accountID: child.id, amountMsat: 1_000, requestID: "r1", owner: "w", model: "gpt-4o-mini")
            #expect(throws: LedgerError.modelNotAllowed("gpt-4o")) {
                try ledger.reservations.reserve(accountID: child.id, amountMsat: 1_000, requestID: "r2", owner: "w", model: "gpt-4o")
            }
            try ledger.accounts.setAllowedModels(accountID: parent.id, ["gpt-4o"])
            #expect(throws: LedgerError.modelNotAllowed("text-embedding-3-small")) {
                try ledger.reservations.reserve(accountID: child.id, amountMsat: 1_000, requestID: "r3", owner: "w", model: "text-embedding-3-small")
            }
            try ledger.accounts.setAllowedModels(accountID: parent.id, [])
            #expect(try ledger.accounts.account(id: parent.id)?.allowedModels == nil)
        }
    }

    @Test func aDisabledOrExpiredParentStopsItsChildren() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, parent) = try ledger.accounts.createKey(balanceMsat: 100_000)
            let (_, child) = try ledger.accounts.createChildKey(parentID: parent.id)
            try ledger.accounts.setDisabled(accountID: parent.id, true)
            #expect(throws: LedgerError.keyDisabled) { try ledger.reservations.reserve(accountID: child.id, amountMsat: 1, requestID: "r1", owner: "w") }
            try ledger.accounts.setDisabled(accountID: parent.id, false)
            try ledger.accounts.setExpiry(accountID: parent.id, 1)
            #expect(throws: LedgerError.keyExpired) { try ledger.reservations.reserve(accountID: child.id, amountMsat: 1, requestID: "r2", owner: "w") }
            try ledger.accounts.setExpiry(accountID: parent.id, nil)
            try ledger.reservations.reserve(accountID: child.id, amountMsat: 1, requestID: "r3", owner: "w")
        }
    }

    @Test func creditToAChildGoesToItsParentAndChildrenHaveNoChildren() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, parent) = try ledger.accounts.createKey(balanceMsat: 0)
            let (_, child) = try ledger.accounts.createChildKey(parentID: parent.id)
            try ledger.accounts.credit(accountID: child.id, amountMsat: 2_000)
            #expect(try ledger.accounts.account(id: parent.id)?.balanceMsat == 2_000)
            #expect(try ledger.accounts.account(id: child.id)?.balanceMsat == 0)
            #expect(throws: LedgerError.invalidKeySetting("key \(child.id) is itself a child key")) {
                try ledger.accounts.createChildKey(parentID: child.id)
            }
            #expect(try ledger.accounts.children(of: parent.id).map(\.id) == [child.id])
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    @Test func settingsAreValidated() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, key) = try ledger.accounts.createKey(balanceMsat: 0)
            #expect(throws: LedgerError.self) { try ledger.accounts.setSpendLimit(accountID: key.id, -1) }
            #expect(throws: LedgerError.self) { try ledger.accounts.setRefundAddress(accountID: key.id, "not an address") }
            #expect(throws: LedgerError.unknownAccount) { try ledger.accounts.setExpiry(accountID: 999, 5) }
            try ledger.accounts.setRefundAddress(accountID: key.id, "alice@example.com")
            try ledger.accounts.setLabel(accountID: key.id, "Alice's key")
            let found = try ledger.accounts.accounts(search: "alice", kind: .key, limit: 10, offset: 0)
            #expect(found.total == 1 && found.page.first?.refundAddress == "alice@example.com")
            #expect(try ledger.accounts.accounts(search: "bob", kind: nil, limit: 10, offset: 0).total == 0)
            #expect(try ledger.accounts.accounts(search: String(key.id), kind: nil, limit: 10, offset: 0).total == 1)
            // No filter at all: both parameters NULL (typed in the SQL, so PostgreSQL needs no guess).
            #expect(try ledger.accounts.accounts(search: nil, kind: nil, limit: 10, offset: 0).total == 1)
            #expect(try ledger.accounts.accounts(search: nil, kind: .token, limit: 10, offset: 0).total == 0)
        }
    }

    @Test func refundAddresses() {
        #expect(RefundAddress.isValid("alice@getalby.com"))
        #expect(RefundAddress.isValid("LNURL1DP68GURN8GHJ7UM9WFMXJCM99E3K7MF0V9CXJ0M385EKVCENXC6R2C35XVUKXEFCV5MKVV34X5EKZD3EV56NYD3HXQURZEPEXEJXXEPNXSCRVWFNV9NXZCN9XQ6XYEFHVGCXXCMYXYMNSERXFQ5FNS"))
        #expect(!RefundAddress.isValid("alice"))
        #expect(!RefundAddress.isValid("alice@intranet"))
        // A loopback LNURL server (a local sidecar, the tests) is reached over plain http.
        #expect(RefundAddress.isValid("operator@127.0.0.1:8080"))
        #expect(!RefundAddress.isValid("a b@example.com"))
    }
}
