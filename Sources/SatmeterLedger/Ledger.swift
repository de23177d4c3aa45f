import Glibc

/// Where money moves: one SQLite database, shared by every thread of a process through one
/// connection, seen through stores that each have one job. Every debit, credit, hold and release
/// of a balance is one short `BEGIN IMMEDIATE` transaction that also writes its ledger rows.
public final class Ledger: Sendable {
    /// API keys, token accounts, their settings, deposits and withdrawals.
    public let accounts: AccountStore
    /// Holds taken before upstream calls, and their settlement.
    public let reservations: ReservationStore
    /// The node's ecash: mint operations, proofs, payouts, leases.
    public let wallet: WalletStore
    /// One record per request, and the metric counters they bump.
    public let requestLog: RequestLogStore
    /// Read-only questions for the operator: audit, totals, margins, series.
    public let reports: ReportStore
    /// The dashboard's password, sessions and login attempts.
    public let admin: AdminStore
    package let connection: LedgerConnection

    public var db: Database { connection.db }

    public init(database: Database, clock: @escaping @Sendable () -> Int64 = { Int64(time(nil)) }) throws(LedgerError) {
        // Processes and commands open the ledger side by side: on PostgreSQL their schema checks
        // can collide (a serialization failure); the loser checks again.
        try retryingConflicts { () throws(LedgerError) in
            do throws(Database.Error) { try Schema.migrate(database) } catch { throw .storage(error) }
        }
        connection = LedgerConnection(database: database, clock: clock)
        accounts = AccountStore(connection: connection)
        reservations = ReservationStore(connection: connection)
        wallet = WalletStore(connection: connection)
        requestLog = RequestLogStore(connection: connection)
        reports = ReportStore(connection: connection)
        admin = AdminStore(connection: connection)
    }

    /// A server checkpoints on a connection of its own (its housekeeping): this connection's
    /// commits, which requests wait for, never run one. Nor do they cut the WAL file back: the
    /// checkpointer starts it over at `walSizeLimitBytes` of frames, so the file stays a little
    /// above that and is written over in place; cutting it (at the first commit after each
    /// start-over, some request's) took milliseconds, and growing it again allocated blocks.
    public func leaveCheckpointsToHousekeeping() {
        guard !db.isPostgres, !LedgerTuning.oldIO else { return }
        _ = try? connection.run("PRAGMA wal_autocheckpoint=0")
        _ = try? connection.run("PRAGMA journal_size_limit=\(Self.walFileLimitBytes)")
    }

    /// The WAL file is cut back to this only if a burst grew it past (a server's request connection).
    public static let walFileLimitBytes = 4 * Database.walSizeLimitBytes

    /// Transactions `body` starts yield to those of requests: for writes no client waits for.
    public func writingInBackground<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        try connection.inBackground(body)
    }

    /// A server's reads outside transactions (the API-key lookup first) go to up to `capacity`
    /// read-only connections instead of waiting behind the writer (`ReadConnectionPool`). Call it
    /// before any thread uses the ledger.
    public func lendReadConnections(capacity: Int = 8) {
        guard !db.isPostgres, ReadConnectionPool.canShare(db.path) else { return }
        connection.readers = ReadConnectionPool(path: db.path, capacity: capacity)
    }

    /// `path` is a SQLite file, or a `postgres://` URL (see `Database.open`) with up to
    /// `poolSize` connections.
    public convenience init(path: String, poolSize: Int = Database.defaultPoolSize) throws(LedgerError) {
        let database: Database
        do { database = try Database.open(path, poolSize: poolSize) } catch { throw .storage(error) }
        try self.init(database: database)
    }
}

public enum LedgerError: Error, Sendable, Equatable {
    case insufficientBalance(availableMsat: Int64, requiredMsat: Int64)
    case unknownAccount
    case invalidAmount
    /// The same mint operation (same input proofs) was already started.
    case duplicateOperation
    case unknownOperation
    /// Proofs chosen for a send were taken by another operation meanwhile.
    case proofsUnavailable
    /// The key's (or its parent's) spending limit would be passed.
    case spendingLimitReached(limitMsat: Int64)
    case modelNotAllowed(String)
    /// A child key whose parent is disabled or expired.
    case keyDisabled
    case keyExpired
    /// An operator's key setting was refused (the reason says why).
    case invalidKeySetting(String)
    /// One of the key's rate limits (requests or tokens per minute, concurrent streams) is reached.
    case rateLimited(RateLimitRefusal)
    case storage(Database.Error)
}

public struct Settlement: Sendable, Equatable {
    public var accountID: Int64
    public var reservedMsat: Int64
    public var chargedMsat: Int64
    public var returnedMsat: Int64
    /// Cost that could not be collected (the operator's loss).
    public var overrunMsat: Int64
    /// Cost above the reservation taken from the rest of the balance.
    public var collectedAboveMsat: Int64 = 0
    /// The payer's balance just after, when the settle read it (saves the caller a lookup).
    public var balanceMsat: Int64?
}

public struct AuditMismatch: Sendable, Equatable {
    public var accountID: Int64
    public var balanceMsat: Int64
    public var reservedMsat: Int64
    public var ledgerBalanceMsat: Int64
    public var ledgerReservedMsat: Int64
    public var heldMsat: Int64

    var isConsistent: Bool {
        balanceMsat == ledgerBalanceMsat && reservedMsat == ledgerReservedMsat && reservedMsat == heldMsat
            && balanceMsat >= 0 && reservedMsat >= 0
    }
}

public struct LedgerTotals: Sendable, Equatable {
    /// Spendable plus held: everything users could still get back or spend.
    public var owedMsat: Int64 = 0
    public var reservedMsat: Int64 = 0
    public var earnedMsat: Int64 = 0
    public var depositedMsat: Int64 = 0
    public var withdrawnMsat: Int64 = 0
    public var overrunMsat: Int64 = 0
    /// Credit the operator gave without ecash behind it.
    public var grantedMsat: Int64 = 0
}
