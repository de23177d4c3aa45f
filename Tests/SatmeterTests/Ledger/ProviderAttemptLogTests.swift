import Testing
@testable import SatmeterLedger

/// `request_attempts` is a schema table (step 6), there before the first failover, on a new
/// database and on one that made it on first use (versions before step 6).
@Suite struct ProviderAttemptLogTests {
    @Test func aNewLedgerHasTheTableBeforeAnyAttemptIsWritten() throws {
        try withTemporaryLedger { ledger, _ in
            #expect(try ledger.providerAttempts(requestID: "r1").isEmpty)
            try ledger.recordProviderAttempts(requestID: "r1", [
                .init(provider: "a", status: 502, failure: "bad gateway", millis: 12),
                .init(provider: "b", status: 200, failure: nil, millis: 30),
            ])
            let rows = try ledger.providerAttempts(requestID: "r1")
            #expect(rows.map(\.provider) == ["a", "b"] && rows.map(\.status) == [502, 200] && rows[0].failure == "bad gateway")
        }
    }

    @Test func aDatabaseThatMadeTheTableOnFirstUseKeepsItsRows() throws {
        try withTemporaryLedger { ledger, path in
            // Back to version 5 (without step 7's rate-limit columns), with the table as the old code
            // made it when a provider first failed.
            try ledger.db.execute("""
                DROP INDEX reservations_key_window;
                ALTER TABLE accounts DROP COLUMN limit_rpm;
                ALTER TABLE accounts DROP COLUMN limit_tpm;
                ALTER TABLE accounts DROP COLUMN limit_streams;
                ALTER TABLE reservations DROP COLUMN tokens;
                ALTER TABLE reservations DROP COLUMN stream;
                DROP TABLE request_attempts;
                CREATE TABLE request_attempts (request_id TEXT NOT NULL, attempt INTEGER NOT NULL, provider TEXT NOT NULL,
                    status INTEGER, failure TEXT, millis INTEGER NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (request_id, attempt));
                INSERT INTO request_attempts VALUES ('old', 1, 'a', 503, 'down', 5, 1);
                UPDATE meta SET value = '5' WHERE name = 'schema_version';
                """)
            let reopened = try Ledger(path: path)
            #expect(try reopened.db.queryOne("SELECT value FROM meta WHERE name = 'schema_version'")?.text("value") == String(Schema.version))
            #expect(try reopened.providerAttempts(requestID: "old").map(\.provider) == ["a"])
        }
    }
}
