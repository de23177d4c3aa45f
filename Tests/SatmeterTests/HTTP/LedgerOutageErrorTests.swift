import Testing
import SatmeterLedger
@testable import SatmeterGateway

@Suite struct LedgerOutageErrorTests {
    /// PostgreSQL unreachable, or every pooled connection busy for the whole wait: a 503 that
    /// says nothing was charged, never a 500.
    @Test func anUnreachableOrBusyLedgerIsA503NothingCharged() {
        for error in [Database.Error.unwritable("connection refused"), .busy("all 8 connections busy")] {
            let api = LedgerError.storage(error).apiError
            #expect(api.status == 503)
            #expect(api.message.contains("nothing was charged"))
        }
    }
}
