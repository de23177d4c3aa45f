import CPostgres
import Glibc

/// One libpq connection, used like `Database`'s SQLite handle: statements in SQLite's dialect are
/// rewritten once (`PostgresDialect`), parameters are sent as typed text, rows come back as the
/// same `Row`s. One thread uses it at a time (`PostgresPool` lends it). A lost connection is
/// re-opened on the next statement outside a transaction; until then every statement fails as
/// `.unwritable` (the gateway answers 503, nothing charged).
final class PostgresSession {
    private(set) var connection: OpaquePointer?
    private let url: String
    private var translations: [String: String] = [:]
    /// Statements prepared on this connection (server-side, named), by text and parameter types:
    /// each is parsed and planned once per connection instead of once per call.
    private var prepared: [PreparedKey: String] = [:]
    private(set) var changes = 0
    /// Inside BEGIN…COMMIT a reconnect would silently drop the transaction: never then.
    var inTransaction = false

    /// Connected and outside a transaction: fit to lend to the next thread.
    var isReusable: Bool { connection != nil && PQstatus(connection) == CONNECTION_OK && !inTransaction }

    init(url: String) throws(Database.Error) {
        self.url = url
        try connect()
    }

    deinit { PQfinish(connection) }

    /// The URL without its password, for messages.
    static func redacted(_ url: String) -> String {
        url.replacing(/:[^:@\/]*@/, with: ":***@")
    }

    private func connect() throws(Database.Error) {
        PQfinish(connection)
        connection = PQconnectdb(url)
        prepared.removeAll()
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = lastMessage
            PQfinish(connection)
            connection = nil
            throw .unwritable("cannot connect to \(Self.redacted(url)): \(message)")
        }
        // Notices (e.g. "relation already exists, skipping") are not errors: keep them out of stderr.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        _ = PQexec(connection, "SET client_min_messages = warning").map { PQclear($0) }
    }

    func ensureConnected() throws(Database.Error) {
        if connection != nil, PQstatus(connection) == CONNECTION_OK { return }
        guard !inTransaction else { throw .unwritable("connection to the database lost") }
        if let connection {
            PQreset(connection)
            prepared.removeAll()  // a new server session knows none of them
        } else { try connect() }
        guard PQstatus(connection) == CONNECTION_OK else { throw .unwritable("database unreachable: \(lastMessage)") }
    }

    private var lastMessage: String {
        connection.flatMap { PQerrorMessage($0) }.map { String(cString: $0) }?.trimmingSpaces ?? "out of memory"
    }

    /// SQL without parameters, several statements allowed (schema, BEGIN, COMMIT).
    func execute(_ sql: String) throws(Database.Error) {
        let upper = sql.uppercased()
        if upper.hasPrefix("PRAGMA") { return }
        var text = sql
        if upper == "BEGIN IMMEDIATE" || upper == "BEGIN" {
            // SQLite runs one writer at a time; SERIALIZABLE gives the same outcome with
            // concurrent writers, and `LedgerConnection` retries the losers.
            text = "BEGIN ISOLATION LEVEL SERIALIZABLE"
        }
        if upper == "ROLLBACK", inTransaction, PQstatus(connection) != CONNECTION_OK {
            // The server dropped the transaction with the connection: nothing to roll back.
            inTransaction = false
            return
        }
        try ensureConnected()
        var result = PQexec(connection, text)
        defer { PQclear(result) }
        if upper.hasPrefix("BEGIN"), PQstatus(connection) != CONNECTION_OK {
            // An idle connection to a server that restarted since: BEGIN did nothing, so it is
            // safe to reconnect and begin again.
            PQclear(result)
            result = nil  // the defer must not clear it again if reconnecting fails
            try ensureConnected()
            result = PQexec(connection, text)
        }
        try check(result)
        if upper.hasPrefix("BEGIN") { inTransaction = true }
        if upper == "COMMIT" || upper == "ROLLBACK" || upper == "END" { inTransaction = false }
    }

    func query(_ sql: String, _ bindings: [SQLValue]) throws(Database.Error) -> [Row] {
        try ensureConnected()
        let text = try translated(sql)
        do { return try run(text, bindings) } catch .unwritable(let message)
            where !inTransaction && PQstatus(connection) != CONNECTION_OK && text.hasPrefix("SELECT") {
            // A read outside a transaction on a connection that died while idle (the server
            // restarted): it changed nothing, so read again on a fresh connection.
            do { try ensureConnected() } catch { throw .unwritable(message) }
            return try run(text, bindings)
        }
    }

    /// `sql` in PostgreSQL's dialect, rewritten once per text.
    func translated(_ sql: String) throws(Database.Error) -> String {
        if let cached = translations[sql] { return cached }
        let text = try translate(sql)
        translations[sql] = text
        return text
    }

    /// Parameters as typed text.
    static func parameters(_ bindings: [SQLValue]) -> (types: [Oid], values: [String?]) {
        var types: [Oid] = []
        var values: [String?] = []
        types.reserveCapacity(bindings.count)
        values.reserveCapacity(bindings.count)
        for binding in bindings {
            switch binding {
            // No type: PostgreSQL takes it from the context (a bare `? IS NULL` needs a CAST).
            case .null: types.append(0); values.append(nil)
            case let .integer(v): types.append(20); values.append(String(v))
            case let .text(v): types.append(25); values.append(v)
            case let .blob(v): types.append(17); values.append("\\x" + v.map { String($0, radix: 16).leftPadded }.joined())
            }
        }
        return (types, values)
    }

    private func run(_ text: String, _ bindings: [SQLValue]) throws(Database.Error) -> [Row] {
        let (types, values) = Self.parameters(bindings)
        let name = try preparedName(text, types)
        let result = withCStrings(values) { pointers in
            if let name { return PQexecPrepared(connection, name, Int32(bindings.count), pointers, nil, nil, 0) }
            return PQexecParams(connection, text, Int32(bindings.count), types, pointers, nil, nil, 0)
        }
        defer { PQclear(result) }
        try check(result)
        changes = Int(String(cString: PQcmdTuples(result))) ?? 0
        return rows(result)
    }

    /// The server-side name of `text` prepared with these parameter types, preparing it on first
    /// use; nil for statements not worth keeping (DDL, whose plans a migration would invalidate).
    func preparedName(_ text: String, _ types: [Oid]) throws(Database.Error) -> String? {
        let key = PreparedKey(text: text, types: types)
        if let name = prepared[key] { return name }
        let verb = text.drop { $0.isWhitespace }.prefix { $0.isLetter }.uppercased()
        guard ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"].contains(verb) else { return nil }
        let name = "s\(prepared.count)"
        let result = PQprepare(connection, name, text, Int32(types.count), types)
        defer { PQclear(result) }
        try check(result)
        prepared[key] = name
        return name
    }

    private func translate(_ sql: String) throws(Database.Error) -> String {
        let text = PostgresDialect.statement(sql)
        guard let table = PostgresDialect.replacedTable(text) else { return text }
        let columns = try run("""
            SELECT a.attname AS name, COALESCE(a.attnum = ANY(i.indkey), false) AS key
            FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
            WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
            """, [.text(table)])
        var names: [String] = []
        var key: [String] = []
        for row in columns {
            guard case let .text(name)? = row["name"] else { continue }
            names.append(name)
            if row["key"] == .integer(1) { key.append(name) }
        }
        guard !key.isEmpty else { throw .sqlite(code: -1, message: "INSERT OR REPLACE into \(table): no primary key") }
        return PostgresDialect.replacing(text, table: table, key: key, columns: names)
    }

    var lastInsertRowID: Int64 {
        (try? query("SELECT lastval() AS id", []).first?.int("id")) ?? 0
    }

    func check(_ result: OpaquePointer?) throws(Database.Error) {
        let status = PQresultStatus(result)
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY { return }
        let message = result.flatMap { PQresultErrorMessage($0) }.map { String(cString: $0) }?.trimmingSpaces ?? lastMessage
        let state = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) } ?? ""
        if PQstatus(connection) != CONNECTION_OK { throw .unwritable("connection to the database lost: \(message)") }
        switch state {
        case "40001", "40P01": throw .conflict(message)
        case _ where state.hasPrefix("23"): throw .constraint(message)
        case _ where state.hasPrefix("08"), _ where state.hasPrefix("57"), _ where state.hasPrefix("53"):
            throw .unwritable(message)
        default: throw .sqlite(code: -1, message: "postgres \(state): \(message)")
        }
    }

    func rows(_ result: OpaquePointer?) -> [Row] {
        let count = PQntuples(result)
        let fields = PQnfields(result)
        guard count > 0 else { return [] }
        let columns = (0..<fields).map { String(cString: PQfname(result, $0)) }
        let types = (0..<fields).map { PQftype(result, $0) }
        var rows: [Row] = []
        rows.reserveCapacity(Int(count))
        for r in 0..<count {
            var values: [SQLValue] = []
            values.reserveCapacity(Int(fields))
            for f in 0..<fields {
                if PQgetisnull(result, r, f) == 1 { values.append(.null); continue }
                let raw = String(cString: PQgetvalue(result, r, f))
                values.append(Self.value(raw, type: types[Int(f)]))
            }
            rows.append(Row(columns: columns, values: values))
        }
        return rows
    }

    /// Integers (of any width, and integral numerics such as SUM(bigint)) as `.integer`, booleans
    /// as 0/1 (SQLite has no other), bytea as bytes, everything else as text.
    private static func value(_ raw: String, type: Oid) -> SQLValue {
        switch type {
        case 20, 21, 23, 26: return Int64(raw).map { .integer($0) } ?? .text(raw)
        case 1700: return Int64(raw).map { .integer($0) } ?? .text(raw)
        case 16: return .integer(raw == "t" ? 1 : 0)
        case 17:
            var bytes: [UInt8] = []
            var hex = raw.utf8.dropFirst(2)
            while hex.count >= 2 {
                bytes.append(UInt8(String(decoding: hex.prefix(2), as: UTF8.self), radix: 16) ?? 0)
                hex = hex.dropFirst(2)
            }
            return .blob(bytes)
        default: return .text(raw)
        }
    }
}

private struct PreparedKey: Hashable {
    let text: String
    let types: [Oid]
}

private extension String {
    var trimmingSpaces: String {
        var text = self[...]
        while text.last?.isWhitespace == true { text = text.dropLast() }
        return String(text)
    }

    var leftPadded: String { count == 1 ? "0" + self : self }
}

/// Calls `body` with C strings for `values` (nil stays nil), alive for the call.
func withCStrings<T>(_ values: [String?], _ body: ([UnsafePointer<CChar>?]) -> T) -> T {
    let copies = values.map { $0.map { strdup($0) } ?? nil }
    defer { copies.forEach { free($0) } }
    return body(copies.map { $0.map { UnsafePointer($0) } })
}
