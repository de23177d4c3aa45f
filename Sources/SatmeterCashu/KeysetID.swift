import SatmeterSupport

/// Keyset ids (NUT-02): derivation from the keys, and resolution of the short form used in V4 tokens.
public enum KeysetID {
    /// V1 (deprecated, still emitted by Nutshell): `00` + first 14 hex of SHA256(compressed keys sorted by amount).
    public static func v1(keys: [UInt64: PublicKey]) -> String {
        let concatenated = keys.sorted { $0.key < $1.key }.flatMap(\.value.compressed)
        return "00" + Hex.encode(Digest.sha256(concatenated)).prefix(14)
    }

    /// V2: `01` + SHA256 of `amount:pubkey_hex,...|unit:<unit>[|input_fee_ppk:<fee>][|final_expiry:<time>]`,
    /// where fee and expiry are left out when absent or zero.
    public static func v2(keys: [UInt64: PublicKey], unit: String, inputFeePPK: UInt64, finalExpiry: UInt64?) -> String {
        var preimage = keys.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.hex)" }.joined(separator: ",")
        preimage += "|unit:\(unit.lowercased())"
        if inputFeePPK != 0 { preimage += "|input_fee_ppk:\(inputFeePPK)" }
        if let finalExpiry, finalExpiry != 0 { preimage += "|final_expiry:\(finalExpiry)" }
        return "01" + Hex.encode(Digest.sha256(preimage))
    }

    /// The full id that `id` names among `knownIDs`. A V4 token may carry only the first 8 bytes of a V2 id;
    /// NUT-00 requires refusing a short id that matches more than one keyset.
    public static func resolve(_ id: String, among knownIDs: some Collection<String>) throws(KeysetError) -> String {
        let id = id.lowercased()
        if knownIDs.contains(id) { return id }
        guard id.count == 16 else { throw .unknownKeyset(id) }
        let matches = knownIDs.filter { $0.count == 66 && $0.hasPrefix(id) }
        guard matches.count <= 1 else { throw .ambiguousShortID(id) }
        guard let full = matches.first else { throw .unknownKeyset(id) }
        return full
    }
}

extension Keyset {
    /// The id these keys and metadata produce, in the version the stated id uses.
    public func derivedID() throws(KeysetError) -> String {
        switch (id.prefix(2), id.count) {
        case ("00", 16): KeysetID.v1(keys: keys)
        case ("01", 66): KeysetID.v2(keys: keys, unit: unit, inputFeePPK: inputFeePPK, finalExpiry: finalExpiry)
        default: throw .unsupportedIDVersion(id)
        }
    }

    /// Refuses a keyset whose id does not match its keys: a mint must not be able to swap keys under a known id.
    public func verifyID() throws(KeysetError) {
        let derived = try derivedID()
        guard derived == id else { throw .idMismatch(stated: id, derived: derived) }
    }
}
