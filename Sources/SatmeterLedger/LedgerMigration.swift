/// Copies a SQLite ledger into an empty PostgreSQL one (`satmeter ledger migrate`): every table the
/// schema has, row for row with the same ids, in one destination transaction, while the source is
/// held still by a write lock (a consistent copy of a live file; its writers wait). Generic over
/// tables and columns, so tables and columns added to `Schema` later are copied too.
public enum LedgerMigration {
    public struct Copied: Sendable, Equatable {
        public var table: String
        public var rows: Int
    }

    public enum Failure: Error, CustomStringConvertible {
        case ledger(LedgerError)

        public var description: String {
            switch self {
            case let .ledger(error): "\(error)"
            }
        }
    }

    /// Referenced tables first (accounts before everything that names an account).
    static let firstTables = ["accounts"]

    public static func copy(from source: Ledger, to destination: Ledger) throws(Failure) -> [Copied] {
        do {
            return try source.connection.transaction { () throws(LedgerError) -> [Copied] in
                let tables = try source.connection.run(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
                ).map { row throws(LedgerError) in try row.text("name") }
                let ordered = firstTables.filter(tables.contains) + tables.filter { !firstTables.contains($0) }
                return try destination.connection.transaction { () throws(LedgerError) -> [Copied] in
                    var copied: [Copied] = []
                    for table in ordered { copied.append(try copyTable(table, source.connection, destination.connection)) }
                    try resetIdentities(destination.connection, tables: ordered)
                    return copied
                }
            }
        } catch {
            throw .ledger(error)
        }
    }

    private static func copyTable(_ table: String, _ from: LedgerConnection, _ to: LedgerConnection) throws(LedgerError) -> Copied {
        let rows = try from.run("SELECT * FROM \(table) ORDER BY rowid")
        // `meta` already holds the destination's schema version: everything else must be empty.
        if table != "meta", try to.run("SELECT COUNT(*) AS n FROM \(table)").first?.int("n") != 0 {
            throw .storage(.constraint("destination table \(table) is not empty"))
        }
        guard let columns = rows.first?.columns else { return Copied(table: table, rows: 0) }
        let names = columns.joined(separator: ", ")
        let marks = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        let insert = table == "meta"
            ? "INSERT OR IGNORE INTO meta(\(names)) VALUES (\(marks))"
            : "INSERT INTO \(table)(\(names)) VALUES (\(marks))"
        for row in rows { try to.run(insert, row.values) }
        let count = try to.run("SELECT COUNT(*) AS n FROM \(table)").first?.int("n") ?? 0
        if table != "meta", count != rows.count {
            throw .storage(.decoding("\(table): \(rows.count) rows in the source, \(count) copied"))
        }
        return Copied(table: table, rows: rows.count)
    }

    /// Copied ids were given explicitly: move each identity's sequence past them.
    private static func resetIdentities(_ to: LedgerConnection, tables: [String]) throws(LedgerError) {
        let identities = try to.run("""
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND is_identity = 'YES'
            """)
        for row in identities {
            let table = try row.text("table_name")
            let column = try row.text("column_name")
            guard tables.contains(table) else { continue }
            try to.run("""
                SELECT setval(pg_get_serial_sequence('\(table)', '\(column)'), COALESCE(MAX(\(column)), 0) + 1, false) AS v FROM \(table)
                """)
        }
    }
}
