import Glibc
import SatmeterGateway
import SatmeterLedger

/// Checkpoints a SQLite ledger's WAL five times a second, on a thread and a connection of its
/// own, so no request's commit runs one (the request connection's automatic checkpoint is off).
///
/// A passive checkpoint never blocks the writers, but under steady load it never catches up with
/// them and the WAL never starts over: past `boundFrames` (~16 MB) a RESTART copies the frames
/// written since the passive one (writers wait that long) and lets the next writer begin the file
/// again, cut back to `journal_size_limit`. The WAL stays within about 16 MB plus 0.2 s of writes.
final class WALCheckpointer: @unchecked Sendable {
    static let intervalMicros: UInt32 = 200_000
    private let database: Database
    /// ~16 MB of frames whatever the file's page size (a frame is one page).
    private let boundFrames: Int

    /// Nil when the ledger is not a SQLite file or the connection cannot open (the request
    /// connection keeps its automatic checkpoints then).
    static func start(config: SatmeterConfig, ledger: Ledger) -> WALCheckpointer? {
        guard config.ledgerURL == nil, let database = try? Database(path: config.databasePath) else { return nil }
        let checkpointer = WALCheckpointer(database: database)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(checkpointer).toOpaque()
        guard pthread_create(&thread, nil, walCheckpointerMain, context) == 0 else {
            Unmanaged<WALCheckpointer>.fromOpaque(context).release()
            return nil
        }
        pthread_detach(thread)
        ledger.leaveCheckpointsToHousekeeping()
        return checkpointer
    }

    private init(database: Database) {
        // A reader that stays on an old snapshot (a long report, a command in another process)
        // makes the RESTART give up and try again later rather than hold the writers.
        database.limitBusyWait(milliseconds: 100)
        self.database = database
        boundFrames = Database.walSizeLimitBytes / (database.pageSize ?? 4096)
    }

    fileprivate func run() -> Never {
        while true {
            usleep(Self.intervalMicros)
            checkpointOnce()
        }
    }

    func checkpointOnce() {
        guard let wal = database.checkpoint(.passive) else { return }
        if wal.walFrames > boundFrames, !LedgerTuning.oldIO { database.checkpoint(.restart) }
    }
}

/// A top-level function: a closure literal here would inherit the caller's isolation (swift-fcgi.md).
private func walCheckpointerMain(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let context else { return nil }
    Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue().run()
}
