import Foundation
import Testing
@testable import SatmeterLedger

/// Issue 15: request-log chunks (background tickets) never make a lone request wait for them,
/// ride along with groups of several requests, and are never left behind for good.
@Suite struct CommitQueueBatchTests {
    private func request() -> CommitQueue.Ticket { CommitQueue.Ticket { nil } }
    private func background() -> CommitQueue.Ticket { CommitQueue.Ticket(background: true) { nil } }

    @Test func aLoneRequestDoesNotWaitForTheRequestLog() {
        let (chunk, alone) = (background(), request())
        var waiting = [chunk, alone]
        let batch = CommitQueue.takeBatch(from: &waiting, maxBatch: 64)
        #expect(batch.map(ObjectIdentifier.init) == [ObjectIdentifier(alone)])
        #expect(waiting.map(ObjectIdentifier.init) == [ObjectIdentifier(chunk)] && chunk.passedOver == 1)
        // With no request waiting, the chunk goes.
        #expect(CommitQueue.takeBatch(from: &waiting, maxBatch: 64).count == 1 && waiting.isEmpty)
    }

    @Test func oneChunkRidesAlongWithSeveralRequests() {
        let tickets = [request(), background(), request(), background()]
        var waiting = tickets
        let batch = CommitQueue.takeBatch(from: &waiting, maxBatch: 64)
        #expect(batch.map(ObjectIdentifier.init) == tickets.prefix(3).map(ObjectIdentifier.init))
        #expect(waiting.count == 1 && waiting[0].background)
    }

    @Test func aChunkPassedOverOftenGoesAnyway() {
        let chunk = background()
        for round in 0...CommitQueue.maxPassedOver {
            var waiting = [chunk, request()]
            let batch = CommitQueue.takeBatch(from: &waiting, maxBatch: 64)
            #expect(batch.contains { $0 === chunk } == (round == CommitQueue.maxPassedOver))
        }
    }

    @Test func batchesKeepTheirBound() {
        var waiting = (0..<10).map { _ in request() } + [background()]
        #expect(CommitQueue.takeBatch(from: &waiting, maxBatch: 4).count == 4)
        #expect(waiting.count == 7)
    }
}

/// Housekeeping's writes are marked as background on their own thread only, and a server's
/// request connection neither checkpoints nor cuts the WAL file back (the checkpointer does).
@Suite struct BackgroundWriterTests {
    @Test func theBackgroundMarkIsScopedToTheThreadAndTheBody() throws {
        try withTemporaryLedger { ledger, _ in try backgroundMarkIsScoped(ledger) }
    }

    private func backgroundMarkIsScoped(_ ledger: Ledger) throws {
        #expect(!LedgerConnection.onBackgroundWriter)
        ledger.writingInBackground {
            #expect(LedgerConnection.onBackgroundWriter)
            ledger.writingInBackground { #expect(LedgerConnection.onBackgroundWriter) }
            #expect(LedgerConnection.onBackgroundWriter)
            let other = Thread { #expect(!LedgerConnection.onBackgroundWriter) }
            other.start()
            while !other.isFinished { usleep(1_000) }
        }
        #expect(!LedgerConnection.onBackgroundWriter)
    }

    @Test func aServersRequestConnectionLeavesCheckpointsAndTheWALFileAlone() throws {
        try withTemporaryDirectory("wal") { dir in
            let ledger = try Ledger(path: dir.appendingPathComponent("satmeter.db").path)
            ledger.leaveCheckpointsToHousekeeping()
            #expect(try ledger.connection.run("PRAGMA wal_autocheckpoint").first?.int("wal_autocheckpoint") == 0)
            let limit = try ledger.connection.run("PRAGMA journal_size_limit").first?.int("journal_size_limit")
            #expect(limit == Int64(Ledger.walFileLimitBytes) && Ledger.walFileLimitBytes > Database.walSizeLimitBytes)
        }
    }
}
