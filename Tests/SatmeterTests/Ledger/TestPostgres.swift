import Foundation
@testable import SatmeterLedger

/// The switch that runs the ledger and wallet suites on PostgreSQL: SATMETER_TEST_POSTGRES_URL
/// names a server's maintenance database (script/test starts a throwaway one, see
/// script/with-postgres); each test then gets a database of its own, dropped afterwards.
enum TestPostgres {
    static let serverURL: String? = ProcessInfo.processInfo.environment["SATMETER_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    static func withDatabase<T>(_ body: (String) throws -> T) throws -> T {
        guard let serverURL else { throw Database.Error.open(path: "SATMETER_TEST_POSTGRES_URL", message: "not set") }
        let name = "satmeter_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let admin = try Database(postgresURL: serverURL, poolSize: 1)
        try admin.execute("CREATE DATABASE \(name)")
        // WITH (FORCE): the test's ledger may not have closed its connections yet.
        defer { try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        return try body(url(serverURL, database: name))
    }

    /// `serverURL` with another database name (before any `?parameters`).
    static func url(_ serverURL: String, database: String) -> String {
        let parts = serverURL.split(separator: "?", maxSplits: 1)
        let base = parts[0]
        let prefix = base.lastIndex(of: "/").map { base[..<$0] } ?? base
        return "\(prefix)/\(database)" + (parts.count > 1 ? "?\(parts[1])" : "")
    }
}
