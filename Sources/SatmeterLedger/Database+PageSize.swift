import CSQLite

/// The page size of a SQLite file this process creates. Every write transaction appends each page
/// it changed to the WAL, whole, and a checkpoint copies it into the file again: a paid request
/// changes a handful of rows in as many pages (the account, its reservation, the held-reservation
/// indexes, its ledger rows), so the bytes written per request scale with the page size, not with
/// the few hundred bytes that changed. 1 KiB pages write about a quarter of 4 KiB's for the same
/// rows; the trees get one level deeper, which the page cache (sized in bytes) absorbs.
/// A database that already has pages keeps its size (SQLite cannot change it in WAL mode).
extension Database {
    public static let newDatabasePageSize = LedgerTuning.pageSize ?? 1024

    /// Must run before the first table is created and before WAL mode is set.
    func choosePageSizeIfNew() throws(Error) {
        guard try pragmaInteger("page_count") == 0 else { return }
        try execute("PRAGMA page_size=\(Self.newDatabasePageSize)")
    }

    /// The file's page size (PRAGMA page_size); nil on PostgreSQL.
    public var pageSize: Int? {
        guard !isPostgres else { return nil }
        return (try? pragmaInteger("page_size")).map(Int.init)
    }

    /// Rewrites an older file with `newDatabasePageSize` pages (`satmeter ledger compact`): out of
    /// WAL mode, VACUUM, back. It needs the file to itself, so with the gateway running it fails
    /// within two seconds and changes nothing. Returns the page size before and after.
    public func rewriteWithNewPageSize() throws(Error) -> (before: Int, after: Int) {
        guard !isPostgres else { throw .sqlite(code: -1, message: "only a SQLite ledger has pages") }
        let before = Int(try pragmaInteger("page_size"))
        guard before != Self.newDatabasePageSize else { return (before, before) }
        limitBusyWait(milliseconds: 2_000)
        // Leaving WAL mode needs every other connection gone: a running gateway makes this fail.
        let mode = try? queryOne("PRAGMA journal_mode=DELETE")?.values.first
        guard mode == .text("delete") else { throw .busy("the database is open in another process: stop the gateway first") }
        defer { _ = try? queryOne("PRAGMA journal_mode=WAL") }
        try execute("PRAGMA page_size=\(Self.newDatabasePageSize)")
        try execute("VACUUM")
        return (before, Int(try pragmaInteger("page_size")))
    }

    func pragmaInteger(_ name: String) throws(Error) -> Int64 {
        guard let row = try queryOne("PRAGMA \(name)"), let value = row.values.first, case let .integer(number) = value else {
            throw .decoding("PRAGMA \(name) returned no integer")
        }
        return number
    }
}
