/// Limits on what a token a client sends may claim, checked before any of its numbers meet
/// arithmetic: its amounts are only the sender's claim until the mint swaps them, and they become
/// msat balances (Int64) on the way, so each proof and the sum must fit `maxSats`.
extension Token {
    /// All the bitcoin there is fits many times over; anything larger cannot be a balance here.
    public static let maxSats = UInt64(Int64.max / 1000)
    /// More proofs than any wallet sends in one token; bounds the work a token can cause.
    public static let maxProofs = 1_000

    public enum BoundsError: Error, Sendable, Equatable, CustomStringConvertible {
        case tooManyProofs(limit: Int)
        case proofTooLarge(limit: UInt64)
        case totalTooLarge(limit: UInt64)

        public var description: String {
            switch self {
            case let .tooManyProofs(limit): "the token holds more than \(limit) proofs"
            case let .proofTooLarge(limit): "a proof's amount is larger than \(limit) sats"
            case let .totalTooLarge(limit): "the token's amounts add up to more than \(limit) sats"
            }
        }
    }

    /// Throws unless every amount, and the total in msat, fits a balance.
    public func checkBounds() throws(BoundsError) {
        guard proofs.count <= Self.maxProofs else { throw .tooManyProofs(limit: Self.maxProofs) }
        var total: UInt64 = 0
        for proof in proofs {
            guard proof.amount <= Self.maxSats else { throw .proofTooLarge(limit: Self.maxSats) }
            let (sum, overflow) = total.addingReportingOverflow(proof.amount)
            guard !overflow, sum <= Self.maxSats else { throw .totalTooLarge(limit: Self.maxSats) }
            total = sum
        }
    }

    /// The total in msat, for a token that passed `checkBounds` (nil otherwise, never a trap).
    public var boundedTotalMsat: Int64? {
        guard (try? checkBounds()) != nil, let sats = try? totalAmount() else { return nil }
        return Int64(sats) * 1000
    }
}
