/// When a route's requests are paid (docs/pricing.md §12.1):
/// - `reserve` (the default): hold the worst case before the upstream call, charge the actual
///   cost after it, return the rest;
/// - `afterResponse`: admit on the request's cost without completion (its prompt bound, request
///   fee, base fee and minimum charge), hold that, and charge the actual bill after the response.
///   What the balance cannot cover then is the operator's loss (an `overrun` row), as today.
///
/// A per-request `X-Cashu` token is always held for the worst case: its change goes back with
/// the response, so nothing would be left to collect an after-response bill from.
public enum RouteSettlement: String, Sendable, Equatable {
    case reserve = "reserve"
    case afterResponse = "after-response"
}

extension RouteTable {
    /// Whether any route bills after the response (a balance may then owe more than it holds).
    public var billsAfterResponse: Bool { routes.entries.contains { $0.value.settlement == .afterResponse } }
}
