import Testing
@testable import SatmeterGateway
@testable import SatmeterLedger

/// Who may read, delete or continue a Responses API object: its creator, and a child key's parent.
@Suite struct ResponseOwnerStoreTests {
    @Test func onlyTheCreatorAndItsParentOwnAnObject() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, alice) = try ledger.accounts.createKey(balanceMsat: 1_000)
            let (_, bob) = try ledger.accounts.createKey(balanceMsat: 1_000)
            let (_, child) = try ledger.accounts.createChildKey(parentID: alice.id)
            let (_, sibling) = try ledger.accounts.createChildKey(parentID: alice.id)
            let store = ledger.responseOwners
            try store.record(responseID: "resp_a", accountID: alice.id)
            try store.record(responseID: "resp_c", accountID: child.id)
            #expect(try store.owns(accountID: alice.id, responseID: "resp_a"))
            #expect(try !store.owns(accountID: bob.id, responseID: "resp_a"))
            #expect(try !store.owns(accountID: child.id, responseID: "resp_a"))  // a child does not see its parent's
            #expect(try store.owns(accountID: child.id, responseID: "resp_c"))
            #expect(try store.owns(accountID: alice.id, responseID: "resp_c"))  // the parent pays, and sees
            #expect(try !store.owns(accountID: sibling.id, responseID: "resp_c"))
            #expect(try !store.owns(accountID: bob.id, responseID: "resp_c"))
            #expect(try !store.owns(accountID: alice.id, responseID: "resp_unknown"))
            // The first record wins: an id handed out again does not change hands.
            try store.record(responseID: "resp_a", accountID: bob.id)
            #expect(try store.owns(accountID: alice.id, responseID: "resp_a"))
            #expect(try !store.owns(accountID: bob.id, responseID: "resp_a"))
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    @Test func oddIdsAreNeitherRecordedNorOwned() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, alice) = try ledger.accounts.createKey(balanceMsat: 1_000)
            let store = ledger.responseOwners
            for odd in ["", "../models", "resp_1/../x", "resp%2F1", "resp 1", "resp_\u{0}", String(repeating: "a", count: 201), "résp_1"] {
                try store.record(responseID: odd, accountID: alice.id)
                #expect(try !store.owns(accountID: alice.id, responseID: odd))
            }
            #expect(try ledger.db.queryOne("SELECT COUNT(*) AS n FROM response_owners")?.int("n") == 0)
            let longest = String(repeating: "a", count: ResponseOwnerStore.maxIDLength)
            try store.record(responseID: longest, accountID: alice.id)
            #expect(try store.owns(accountID: alice.id, responseID: longest))
        }
    }

    @Test func aLedgerAtStepEightGainsTheTable() throws {
        try withTemporaryLedger { ledger, path in
            try ledger.db.execute("DROP TABLE response_owners")
            try ledger.db.query("UPDATE meta SET value = ? WHERE name = 'schema_version'", [.text(String(Schema.version - 1))])
            let reopened = try Ledger(path: path)
            let (_, alice) = try reopened.accounts.createKey(balanceMsat: 0)
            try reopened.responseOwners.record(responseID: "resp_x", accountID: alice.id)
            #expect(try reopened.responseOwners.owns(accountID: alice.id, responseID: "resp_x"))
            #expect(Schema.version == 9)
        }
    }

    @Test func onlyTheFourObjectRoutesWithAPlainIdAreForwarded() throws {
        typealias Target = ResponseObjectPassthrough.Target
        let plain = try Target(method: "GET", path: "/v1/responses/resp_1")
        #expect(plain.id == "resp_1" && plain.upstreamPath == "/responses/resp_1")
        #expect(try Target(method: "DELETE", path: "/v1/responses/resp_1/").upstreamPath == "/responses/resp_1")
        #expect(try Target(method: "GET", path: "/v1/responses/resp_1/input_items").upstreamPath == "/responses/resp_1/input_items")
        #expect(try Target(method: "POST", path: "/v1/responses/resp_1/cancel").upstreamPath == "/responses/resp_1/cancel")
        for (method, path) in [("POST", "/v1/responses/resp_1"), ("DELETE", "/v1/responses/resp_1/cancel"), ("GET", "/v1/responses/resp_1/x"),
                               ("GET", "/v1/responses/resp_1/input_items/x"), ("GET", "/v1/responses//input_items"), ("GET", "/v1/responses/a/b/c")] {
            #expect(throws: APIError.self) { try Target(method: method, path: path) }
        }
        #expect(throws: APIError.responseNotFound("..")) { try Target(method: "GET", path: "/v1/responses/..") }
        #expect(throws: APIError.responseNotFound("a.b")) { try Target(method: "GET", path: "/v1/responses/a.b") }
    }
}
