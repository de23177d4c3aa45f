import Synchronization

/// Read-only SQLite connections to the ledger's file, lent one statement at a time to threads
/// that read outside any transaction (the API-key lookup, balances, reports), so those reads no
/// longer queue on `ConnectionLock` behind the writer's group commit. WAL lets readers run while
/// the one writer writes; each statement sees everything committed before it started.
///
/// Never used inside a transaction: a read that decides money (the reserve's balance check, the
/// settle) runs in the write transaction on the writer's connection, as before.
final class ReadConnectionPool: @unchecked Sendable {
    /// One connection, only ever used by the thread it is lent to.
    private final class Reader: @unchecked Sendable {
        let db: Database
        init(_ db: Database) { self.db = db }
    }

    private struct State {
        var idle: [Reader] = []
        var opened = 0
        /// Set when a connection could not be opened: reads go back to the writer's connection.
        var broken = false
    }

    let path: String
    /// Connections at most; a read finding them all lent goes to the writer's connection.
    let capacity: Int
    private let state = Mutex(State())

    /// Each reader's page cache is dropped whenever another connection commits (WAL), so a large
    /// one buys nothing: a few hundred KB holds a lookup's B-tree path.
    static let cacheKilobytes = 256

    init(path: String, capacity: Int = 8) {
        self.path = path
        self.capacity = capacity
    }

    /// A file a second connection can open (not `:memory:`, not a temporary database).
    static func canShare(_ path: String) -> Bool {
        !path.isEmpty && path != ":memory:" && !path.hasPrefix("file:")
    }

    /// Runs one read on a lent connection; nil when none is free (the caller reads on the writer's).
    func query(_ sql: String, _ bindings: [SQLValue]) throws(Database.Error) -> [Row]? {
        guard let reader = borrow() else { return nil }
        defer { giveBack(reader) }
        return try reader.db.query(sql, bindings)
    }

    /// Connections opened so far (tests).
    var openedCount: Int { state.withLock { $0.opened } }

    private func borrow() -> Reader? {
        enum Next { case lent(Reader), open, none }
        let next: Next = state.withLock { state in
            if let reader = state.idle.popLast() { return .lent(reader) }
            guard !state.broken, state.opened < capacity else { return .none }
            state.opened += 1
            return .open
        }
        switch next {
        case let .lent(reader): return reader
        case .none: return nil
        case .open:
            do {
                let reader = try Database(path: path, readOnly: true)
                try reader.execute("PRAGMA cache_size=-\(Self.cacheKilobytes)")
                return Reader(reader)
            } catch {
                state.withLock { state in
                    state.opened -= 1
                    state.broken = true
                }
                return nil
            }
        }
    }

    private func giveBack(_ reader: Reader) {
        state.withLock { $0.idle.append(reader) }
    }
}
