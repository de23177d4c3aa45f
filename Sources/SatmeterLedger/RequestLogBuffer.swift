import Synchronization
import SatmeterSupport

/// Request-log records waiting to be written. Worker threads add a record as each request ends;
/// the process's housekeeping writes them (and their metric counters) in one transaction about
/// once a second, and at shutdown. A process killed outright loses at most that second of log
/// records; balances never depend on them.
public final class RequestLogBuffer: Sendable {
    private let pending = Mutex<[RequestRecord]>([])
    /// Past this many waiting records a worker writes them itself rather than grow the buffer.
    let highWater: Int

    public init(highWater: Int = 5_000) {
        self.highWater = highWater
    }

    /// Records per transaction written in the background (housekeeping's flush).
    static let chunk = 25
    /// Records per transaction when a worker writes an overdue buffer itself: its request already
    /// waits, so few large commits rather than hundreds that each wait for a turn.
    static let overdueChunk = 1_000

    /// Adds a record; returns true when the buffer is past its high-water mark and should be flushed.
    public func add(_ record: RequestRecord) -> Bool {
        pending.withLock { records in
            records.append(record)
            return records.count >= highWater
        }
    }

    /// Writes everything waiting. On failure the records are kept for the next try.
    ///
    /// `inBackground` (housekeeping): small chunks that yield to requests (`CommitQueue`). A worker
    /// flushing a buffer past `highWater` does not yield: background chunks that wait up to eight
    /// batches each would hold its request for seconds (measured: one request in ~40,000 took
    /// 1.5–1.9 s at 32 connections while 5,000 records went out in 200 yielding chunks).
    public func flush(into ledger: Ledger, inBackground: Bool = true) {
        let batch = pending.withLock { records in
            defer { records.removeAll(keepingCapacity: true) }
            return records
        }
        // Small transactions: they commit in the same groups as the requests' (`CommitQueue`);
        // a second's worth of records in one go would stall requests for milliseconds. Background
        // ones: a request alone never waits for a chunk that has not started.
        // A background chunk waits for a batch of requests to ride along with, so the log keeps up
        // with at most a chunk per batch: a deeper backlog goes in larger chunks (up to 4x).
        let size = inBackground ? min(4 * Self.chunk, max(Self.chunk, batch.count / 40)) : Self.overdueChunk
        var start = 0
        while start < batch.count {
            let chunk = Array(batch[start..<min(batch.count, start + size)])
            do {
                if inBackground {
                    try ledger.writingInBackground { () throws(LedgerError) in try ledger.requestLog.append(chunk) }
                } else {
                    try ledger.requestLog.append(chunk)
                }
            } catch {
                let unwritten = Array(batch[start...])
                Log.warning("request log: \(unwritten.count) record(s) not written yet: \(error)")
                pending.withLock { records in
                    if records.count < highWater * 4 { records.insert(contentsOf: unwritten, at: 0) }
                }
                return
            }
            start += size
        }
    }
}
