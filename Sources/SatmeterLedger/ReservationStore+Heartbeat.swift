/// Reservations carry a heartbeat: each worker process renews the ones it holds (from its
/// housekeeping tick, not from the request thread, so a stream blocked on a slow reader keeps
/// its hold). The sweeper releases only reservations whose owner is gone or whose heartbeat is
/// older than the timeout, never a live stream's because it runs long.
extension ReservationStore {
    /// Marks every reservation `owner` still holds as alive now.
    public func renewReservations(owner: String, now: Int64) throws(LedgerError) {
        try transaction { () throws(LedgerError) in
            try run("UPDATE reservations SET heartbeat_at = ?1 WHERE owner = ?2 AND state = 'held'", [.integer(now), .text(owner)])
        }
    }

    /// Releases held reservations not renewed (nor created) since `cutoff`. Returns how many.
    @discardableResult
    public func releaseStale(heartbeatBefore cutoff: Int64) throws(LedgerError) -> Int {
        let ids = try run("""
            SELECT request_id FROM reservations WHERE state = 'held' AND MAX(created_at, COALESCE(heartbeat_at, 0)) < ?
            """, [.integer(cutoff)]).map { row throws(LedgerError) in try row.text("request_id") }
        var released = 0
        for id in ids where try release(requestID: id, note: "abandoned: no heartbeat") != nil { released += 1 }
        return released
    }
}
