import CSQLite
import Glibc

/// A thin, safe face over one database connection: SQLite (the default, a file) or PostgreSQL
/// (several hosts sharing one ledger; see `PostgresSession`). The stores write SQLite's dialect
/// and never see which one they talk to.
/// SQLite: WAL, `synchronous=NORMAL`, a busy timeout, and `BEGIN IMMEDIATE` for every write transaction,
/// so concurrent processes queue for the write lock instead of failing on a read-to-write upgrade.
public final class Database {
    public enum Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        case open(path: String, message: String)
        case sqlite(code: Int32, message: String)
        /// A CHECK or UNIQUE constraint refused the write.
        case constraint(String)
        /// The disk is full or the file is read-only: refuse the request, nothing half-written.
        case unwritable(String)
        /// A row did not have the column, or the column held another type: never a silent zero.
        case decoding(String)
        /// A concurrent transaction won (PostgreSQL serialization failure or deadlock): run it again.
        case conflict(String)
        /// Every pooled PostgreSQL connection stayed busy for the whole wait: refuse, nothing done.
        case busy(String)

        public var description: String {
            switch self {
            case let .open(path, message): "cannot open database \(path): \(message)"
            case let .sqlite(code, message): "sqlite error \(code): \(message)"
            case let .constraint(message): "constraint failed: \(message)"
            case let .unwritable(message): "database not writable: \(message)"
            case let .decoding(message): "unexpected row: \(message)"
            case let .conflict(message): "concurrent update: \(message)"
            case let .busy(message): "database busy: \(message)"
            }
        }
    }

    /// SQLite's handle; nil when the ledger lives in PostgreSQL.
    private let handle: OpaquePointer?
    let postgres: PostgresPool?
    /// Prepared once per SQL text, with the column names its rows share (`Database+Prepared`).
    var statements: [String: Prepared] = [:]
    /// The file, or the PostgreSQL URL without its password.
    public let path: String

    public var isPostgres: Bool { postgres != nil }

    /// A `postgres://` or `postgresql://` URL opens PostgreSQL; anything else is a SQLite file.
    public static func isPostgresURL(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    /// `poolSize`: PostgreSQL connections this process may open (SQLite has its one).
    public static func open(_ location: String, poolSize: Int = defaultPoolSize) throws(Error) -> Database {
        isPostgresURL(location) ? try Database(postgresURL: location, poolSize: poolSize) : try Database(path: location)
    }

    /// PostgreSQL connections per process unless configured (`ledger.pool_size`).
    public static let defaultPoolSize = 8
    /// How long a thread waits for a pooled connection before the request gets a 503.
    public static let defaultPoolWaitMillis: Int64 = 5_000

    public init(postgresURL url: String, poolSize: Int = defaultPoolSize, poolWaitMillis: Int64 = defaultPoolWaitMillis) throws(Error) {
        path = PostgresSession.redacted(url)
        handle = nil
        postgres = try PostgresPool(url: url, size: poolSize, waitMillis: poolWaitMillis)
    }

    public init(path: String, readOnly: Bool = false) throws(Error) {
        self.path = path
        postgres = nil
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw .open(path: path, message: message)
        }
        handle = db
        // Between processes: retry every 0.2 ms for up to 10 s, not SQLite's millisecond steps.
        sqlite3_busy_handler(db, { _, attempts in
            guard attempts < 50_000 else { return 0 }
            usleep(200)
            return 1
        }, nil)
        sqlite3_extended_result_codes(db, 1)
        if !readOnly {
            try choosePageSizeIfNew()
            try execute("PRAGMA journal_mode=WAL")
            // A server's checkpoints run in its housekeeping tick (and its request connection
            // turns this off); this is the safety net for commands and tests.
            try execute("PRAGMA wal_autocheckpoint=20000")
            if LedgerTuning.oldIO {
                try execute("PRAGMA mmap_size=268435456")
            } else {
                // When the WAL starts over, the file is cut back to this: disk use stays bounded.
                try execute("PRAGMA journal_size_limit=\(Self.walSizeLimitBytes)")
                // No memory map: a mapped file counts as resident memory and grows with the database.
                // A page cache of bounded size holds the hot pages (accounts, the B-tree ends) instead.
                try execute("PRAGMA mmap_size=0")
                try execute("PRAGMA cache_size=-8192")
            }
        }
        try execute("PRAGMA synchronous=NORMAL")
        try execute("PRAGMA foreign_keys=ON")
    }

    deinit {
        for prepared in statements.values { sqlite3_finalize(prepared.statement) }
        sqlite3_close_v2(handle)
    }

    /// The WAL file's size after it starts over (`journal_size_limit`).
    public static let walSizeLimitBytes = 16 << 20

    public enum CheckpointMode: Int32, Sendable {
        /// Copies what it can without blocking readers or writers.
        case passive = 0
        /// Waits for the writer, copies everything, and makes the next writer start the WAL over
        /// (new writers wait meanwhile).
        case restart = 2
    }

    /// Waits at most this long for a lock, in 0.1 ms steps (replaces the 10 s busy handler): for
    /// a checkpointer, whose RESTART keeps writers waiting while it waits for readers, who are
    /// done within microseconds (SQLite's own steps sleep 1, 2, 5, 10… ms).
    public func limitBusyWait(milliseconds: Int32) {
        guard postgres == nil else { return }
        sqlite3_busy_handler(handle, { limit, attempts in
            guard Int(attempts) < Int(bitPattern: limit) else { return 0 }
            usleep(100)
            return 1
        }, UnsafeMutableRawPointer(bitPattern: Int(max(0, milliseconds)) * 10))
    }

    /// Moves the write-ahead log into the database. Run it on a connection of its own, off the
    /// request path: SQLite's automatic checkpoint would otherwise run inside some request's commit.
    /// Returns the WAL's frames and how many of them the database has now; nil on PostgreSQL or error.
    @discardableResult
    public func checkpoint(_ mode: CheckpointMode = .passive) -> (walFrames: Int, checkpointed: Int)? {
        guard postgres == nil else { return nil }
        var frames: Int32 = 0
        var copied: Int32 = 0
        let rc = sqlite3_wal_checkpoint_v2(handle, nil, mode.rawValue, &frames, &copied)
        guard rc == SQLITE_OK || rc == SQLITE_BUSY else { return nil }
        return (Int(frames), Int(copied))
    }

    /// Runs SQL that returns no rows (several statements allowed). One statement (BEGIN, COMMIT,
    /// a savepoint: a group commit runs several per request) is prepared once, not parsed each time.
    public func execute(_ sql: String) throws(Error) {
        if let postgres { return try postgres.withSession({ session throws(Error) in try session.execute(sql) }, unavailable: { $0 }) }
        if !sql.utf8.contains(UInt8(ascii: ";")) { return try step(prepared(sql).statement) }
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? ""
            sqlite3_free(message)
            throw classify(rc, text)
        }
    }

    /// Runs one statement and returns every row.
    @discardableResult
    public func query(_ sql: String, _ bindings: [SQLValue] = []) throws(Error) -> [Row] {
        if let postgres { return try postgres.withSession({ session throws(Error) in try session.query(sql, bindings) }, unavailable: { $0 }) }
        let prepared = try prepared(sql)
        let statement = prepared.statement
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (index, value) in bindings.enumerated() {
            let position = Int32(index + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(statement, position)
            case let .integer(v): rc = sqlite3_bind_int64(statement, position, v)
            case let .text(v): rc = sqlite3_bind_text(statement, position, v, -1, csqlite_transient())
            case let .blob(v):
                rc = v.withUnsafeBytes { sqlite3_bind_blob(statement, position, $0.baseAddress, Int32($0.count), csqlite_transient()) }
            }
            guard rc == SQLITE_OK else { throw classify(rc, lastMessage) }
        }
        var rows: [Row] = []
        var columns: [String]?
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw classify(rc, lastMessage) }
            let names = columns ?? self.columns(of: prepared, sql: sql)
            columns = names
            rows.append(Row(statement, columns: names))
        }
        return rows
    }

    public func queryOne(_ sql: String, _ bindings: [SQLValue] = []) throws(Error) -> Row? {
        try query(sql, bindings).first
    }

    /// True between BEGIN and COMMIT/ROLLBACK (SQLite ends a transaction itself on some errors).
    public var inTransaction: Bool { postgres == nil && sqlite3_get_autocommit(handle) == 0 }

    /// Rows changed by the last INSERT/UPDATE/DELETE: how a conditional debit knows it happened.
    /// On PostgreSQL, this thread's last statement's (each thread has its own connection meanwhile).
    public var changes: Int { postgres?.changesOnThisThread ?? Int(sqlite3_changes(handle)) }

    /// On PostgreSQL only meaningful inside a transaction (`pinned`): the id comes from the connection.
    public var lastInsertRowID: Int64 {
        guard let postgres else { return sqlite3_last_insert_rowid(handle) }
        return (try? postgres.withSession({ session throws(Error) in session.lastInsertRowID }, unavailable: { $0 })) ?? 0
    }

    /// A write transaction taken with `BEGIN IMMEDIATE`; rolled back if `body` throws.
    public func write<T>(_ body: () throws(Error) -> T) throws(Error) -> T {
        if let postgres { return try postgres.withSession({ _ throws(Error) in try writeOnce(body) }, unavailable: { $0 }) }
        return try writeOnce(body)
    }

    private func writeOnce<T>(_ body: () throws(Error) -> T) throws(Error) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    var lastMessage: String { String(cString: sqlite3_errmsg(handle)) }

    func prepare(_ sql: String) throws(Error) -> OpaquePointer {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw classify(rc, lastMessage) }
        return statement
    }

    func classify(_ rc: Int32, _ message: String) -> Error {
        switch rc & 0xff {
        case SQLITE_CONSTRAINT: .constraint(message)
        case SQLITE_FULL, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CANTOPEN: .unwritable(message)
        default: .sqlite(code: rc, message: message)
        }
    }
}

public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(nilLiteral: ()) { self = .null }
    public static func int(_ value: Int) -> SQLValue { .integer(Int64(value)) }
    public static func optional(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
    public static func optional(_ value: Int64?) -> SQLValue { value.map { .integer($0) } ?? .null }
}

/// One result row, copied out of the statement so it outlives the step. Values are read by column
/// name (as the SELECT names them; aggregates get an `AS` alias) and a missing column or a value of
/// another type throws: a money ledger must never read a silent zero.
public struct Row: Sendable {
    /// The statement's column names, shared by all its rows.
    public let columns: [String]
    public let values: [SQLValue]

    init(columns: [String], values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    init(_ statement: OpaquePointer, columns: [String]) {
        var values: [SQLValue] = []
        values.reserveCapacity(columns.count)
        for column in 0..<Int32(columns.count) {
            switch sqlite3_column_type(statement, column) {
            case SQLITE_INTEGER: values.append(.integer(sqlite3_column_int64(statement, column)))
            case SQLITE_NULL: values.append(.null)
            case SQLITE_BLOB:
                let count = Int(sqlite3_column_bytes(statement, column))
                if let base = sqlite3_column_blob(statement, column) {
                    values.append(.blob(Array(UnsafeRawBufferPointer(start: base, count: count))))
                } else {
                    values.append(.blob([]))
                }
            default:
                values.append(.text(sqlite3_column_text(statement, column).map { String(cString: $0) } ?? ""))
            }
        }
        self.columns = columns
        self.values = values
    }

    static func columnNames(_ statement: OpaquePointer) -> [String] {
        (0..<sqlite3_column_count(statement)).map { sqlite3_column_name(statement, $0).map { String(cString: $0) } ?? "" }
    }

    public subscript(_ name: String) -> SQLValue? {
        columns.firstIndex(of: name).map { values[$0] }
    }

    private func value(_ name: String) throws(LedgerError) -> SQLValue {
        guard let value = self[name] else { throw .storage(.decoding("no column '\(name)' in (\(columns.joined(separator: ", ")))")) }
        return value
    }

    private func mismatch(_ name: String, _ expected: String, _ found: SQLValue) -> LedgerError {
        .storage(.decoding("column '\(name)': expected \(expected), found \(found)"))
    }

    public func int(_ name: String) throws(LedgerError) -> Int64 {
        let found = try value(name)
        guard case let .integer(v) = found else { throw mismatch(name, "an integer", found) }
        return v
    }

    public func optionalInt(_ name: String) throws(LedgerError) -> Int64? {
        let found = try value(name)
        switch found {
        case .null: return nil
        case let .integer(v): return v
        default: throw mismatch(name, "an integer or NULL", found)
        }
    }

    public func bool(_ name: String) throws(LedgerError) -> Bool {
        switch try int(name) {
        case 0: false
        case 1: true
        case let other: throw mismatch(name, "0 or 1", .integer(other))
        }
    }

    public func text(_ name: String) throws(LedgerError) -> String {
        let found = try value(name)
        guard case let .text(v) = found else { throw mismatch(name, "text", found) }
        return v
    }

    public func optionalText(_ name: String) throws(LedgerError) -> String? {
        let found = try value(name)
        switch found {
        case .null: return nil
        case let .text(v): return v
        default: throw mismatch(name, "text or NULL", found)
        }
    }

    /// A text column holding one of an enum's raw values.
    public func value<T: RawRepresentable>(_ type: T.Type, _ name: String) throws(LedgerError) -> T where T.RawValue == String {
        let raw = try text(name)
        guard let value = T(rawValue: raw) else { throw mismatch(name, "one of \(T.self)'s values", .text(raw)) }
        return value
    }
}
