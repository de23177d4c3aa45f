import Glibc
import SatmeterGateway
import SatmeterLedger

/// Checkpoints a SQLite ledger's WAL five times a second (once when little is written), on a
/// thread and a connection of its own, so no request's commit runs one (the request
/// connection's automatic checkpoint is off).
///
/// A passive checkpoint never blocks the writers, but under steady load it never catches up with
/// them and the WAL never starts over: past `boundFrames` (~16 MB) a RESTART copies the frames
/// written since the passive one (writers wait that long) and lets the next writer begin the file
/// again. The WAL stays within about 16 MB plus 0.2 s of writes (a file cut back only past
/// `Ledger.walFileLimitBytes`).
final class WALCheckpointer: @unchecked Sendable {
    static let intervalMicros: UInt32 = 200_000
    private let database: Database
    /// ~16 MB of frames whatever the file's page size (a frame is one page).
    private let boundFrames: Int
    /// Below this many frames (~4 MB) the next checkpoint waits `quietIntervalMicros`.
    private let quietFrames: Int
    /// The database file, opened only to flush it (-1 if it could not be).
    private let databaseFile: Int32

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
        quietFrames = Self.quietBytes / (database.pageSize ?? 4096)
        databaseFile = open(database.path, O_RDONLY | O_CLOEXEC)
    }

    static let quietBytes = 4 << 20
    static let quietIntervalMicros: UInt32 = 1_000_000

    fileprivate func run() -> Never {
        var frames = 0
        while true {
            // Each checkpoint that reaches the WAL's end lets the next commit start the file over,
            // and that commit (some request's) fsyncs the new WAL header: when little is written,
            // checkpoint once a second rather than five times, so fewer requests pay that fsync.
            usleep(frames < quietFrames ? Self.quietIntervalMicros : Self.intervalMicros)
            frames = checkpointOnce()
        }
    }

    /// Returns the WAL's frames as the checkpoint found them.
    @discardableResult
    func checkpointOnce() -> Int {
        guard let wal = database.checkpoint(.passive) else { return 0 }
        guard wal.walFrames > boundFrames, !LedgerTuning.oldIO else { return wal.walFrames }
        // A RESTART holds the writers for its whole run, fsyncs included. Under load the passive
        // checkpoints never reach the WAL's end, and only one that does syncs the database file:
        // everything they copied since would be flushed inside the RESTART. Flush it here, and
        // copy what came in meanwhile, so the RESTART syncs only the last moment's frames.
        if databaseFile >= 0 { fdatasync(databaseFile) }
        database.checkpoint(.passive)
        database.checkpoint(.restart)
        return wal.walFrames
    }
}

/// A top-level function: a closure literal here would inherit the caller's isolation (swift-fcgi.md).
private func walCheckpointerMain(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let context else { return nil }
    Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue().run()
}
