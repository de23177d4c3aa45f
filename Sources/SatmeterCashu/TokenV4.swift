import SatmeterSupport

/// V4 tokens (`cashuB`): CBOR `{m, u, d?, t: [{i: keyset id bytes, p: [{a, s, c, d?: {e, s, r}, w?}]}]}`.
/// Hex values of the JSON models travel as byte strings.
enum TokenV4 {
    static func decode(_ bytes: [UInt8]) throws(TokenError) -> Token {
        let cbor: CBOR
        do { cbor = try CBOR.decode(bytes) } catch { throw .invalidCBOR(error.description) }
        let token = try TokenError.reporting { try readToken(from: cbor) }
        guard !token.proofs.isEmpty else { throw .noProofs }
        return token
    }

    private static func readToken(from cbor: CBOR) throws -> Token {
        let root = try DocumentFields(cbor, path: "")
        let mint = Token.normalizedMint(try root.text("m"))
        guard !mint.isEmpty else { throw TokenError.invalidField("m", "must not be empty") }
        let unit = try root.text("u")
        var proofs: [Proof] = []
        for (i, group) in try root.array("t").enumerated() {
            let fields = try DocumentFields(group, path: "t[\(i)]")
            let keysetID = try fields.bytes("i")
            for (j, item) in try fields.array("p").enumerated() {
                proofs.append(try proof(from: item, keysetID: keysetID, path: fields.name("p[\(j)]")))
            }
        }
        return Token(mint: mint, unit: unit, memo: try root.optionalText("d"), proofs: proofs)
    }

    private static func proof(from cbor: CBOR, keysetID: [UInt8], path: String) throws -> Proof {
        let fields = try DocumentFields(cbor, path: path)
        var dleq: ProofDLEQ?
        if let d = try fields.optionalObject("d") {
            dleq = try ProofDLEQ(e: Hex.encode(d.bytes("e")), s: Hex.encode(d.bytes("s")), r: Hex.encode(d.bytes("r")))
        }
        do {
            return try Proof(
                amount: fields.unsigned("a"), keysetID: Hex.encode(keysetID), secret: fields.text("s"),
                C: Hex.encode(fields.bytes("c")), dleq: dleq, witness: fields.optionalText("w"))
        } catch let error as TokenError {
            throw error.at(path)
        }
    }

    /// Keys in the order of the NUT-00 vectors (t, d, m, u), proofs grouped by keyset in order of first appearance.
    static func encode(_ token: Token) -> [UInt8] {
        var groups: [(id: String, proofs: [CBOR])] = []
        for proof in token.proofs {
            let item = encode(proof)
            if let index = groups.firstIndex(where: { $0.id == proof.keysetID }) {
                groups[index].proofs.append(item)
            } else {
                groups.append((proof.keysetID, [item]))
            }
        }
        var root: [(String, CBOR)] = [
            ("t", .array(groups.map { .object([("i", .bytes(hexBytes($0.id))), ("p", .array($0.proofs))]) }))
        ]
        if let memo = token.memo { root.append(("d", .text(memo))) }
        root.append(("m", .text(token.mint)))
        root.append(("u", .text(token.unit)))
        return CBOR.object(root).encoded
    }

    private static func encode(_ proof: Proof) -> CBOR {
        var fields: [(String, CBOR)] = [
            ("a", .unsigned(proof.amount)), ("s", .text(proof.secret)), ("c", .bytes(hexBytes(proof.C))),
        ]
        if let dleq = proof.dleq {
            fields.append(("d", .object([("e", .bytes(hexBytes(dleq.e))), ("s", .bytes(hexBytes(dleq.s))), ("r", .bytes(hexBytes(dleq.r)))])))
        }
        if let witness = proof.witness { fields.append(("w", .text(witness))) }
        return .object(fields)
    }

    /// `Proof` and `ProofDLEQ` only hold hex their initializers checked, so decoding cannot fail here.
    private static func hexBytes(_ hex: String) -> [UInt8] { Hex.decode(hex) ?? [] }
}
