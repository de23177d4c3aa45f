extension Keyset {
    /// NUT-02 fee: the per-input fees in ppk, summed, then rounded up to whole units: (sum + 999) / 1000.
    public static func inputFee(ppkPerInput: some Sequence<UInt64>) throws(KeysetError) -> UInt64 {
        var sum: UInt64 = 0
        for ppk in ppkPerInput {
            let (next, overflow) = sum.addingReportingOverflow(ppk)
            guard !overflow else { throw .feeOverflow }
            sum = next
        }
        let (rounded, overflow) = sum.addingReportingOverflow(999)
        guard !overflow else { throw .feeOverflow }
        return rounded / 1000
    }

    /// The fee for spending `inputCount` proofs of this keyset.
    public func inputFee(inputCount: Int) throws(KeysetError) -> UInt64 {
        try Keyset.inputFee(ppkPerInput: repeatElement(inputFeePPK, count: max(0, inputCount)))
    }

    /// The fee for spending `proofs`, each at the rate of its own keyset (short ids are resolved).
    public static func inputFee(for proofs: [Proof], keysets: [String: Keyset]) throws(KeysetError) -> UInt64 {
        var rates: [UInt64] = []
        for proof in proofs {
            let id = try KeysetID.resolve(proof.keysetID, among: keysets.keys)
            rates.append(keysets[id]?.inputFeePPK ?? 0)
        }
        return try inputFee(ppkPerInput: rates)
    }

    /// The powers of two that sum to `amount`, smallest first: the denominations a wallet asks the mint for.
    public static func splitAmount(_ amount: UInt64) -> [UInt64] {
        (0..<64).compactMap { bit in
            let value: UInt64 = 1 << UInt64(bit)
            return amount & value != 0 ? value : nil
        }
    }
}
