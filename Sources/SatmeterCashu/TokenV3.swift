import SatmeterSupport

/// Reading of V3 tokens (`cashuA`): base64 of JSON `{"token": [{"mint", "proofs"}], "unit", "memo"}`.
/// V3 is deprecated, so it is read but never written.
enum TokenV3 {
    /// One `Token` per distinct mint that has proofs; entries naming the same mint are merged.
    static func decode(_ bytes: [UInt8]) throws(TokenError) -> [Token] {
        let json: JSON
        do { json = try JSON.parse(bytes) } catch { throw .invalidJSON(error.description) }
        // A mint entry without proofs carries no value; leaving it out keeps it from counting as a second mint.
        let tokens = try TokenError.reporting { try readTokens(from: json) }.filter { !$0.proofs.isEmpty }
        guard !tokens.isEmpty else { throw .noProofs }
        return tokens
    }

    private static func readTokens(from json: JSON) throws -> [Token] {
        let root = try DocumentFields(json, path: "")
        // NUT-00 makes the unit optional in V3; wallets that omit it mean sats.
        let unit = try root.optionalText("unit") ?? "sat"
        let memo = try root.optionalText("memo")
        var tokens: [Token] = []
        for (i, entry) in try root.array("token").enumerated() {
            let fields = try DocumentFields(entry, path: "token[\(i)]")
            let mint = Token.normalizedMint(try fields.text("mint"))
            guard !mint.isEmpty else { throw TokenError.invalidField(fields.name("mint"), "must not be empty") }
            var proofs: [Proof] = []
            for (j, item) in try fields.array("proofs").enumerated() {
                proofs.append(try proof(from: item, path: fields.name("proofs[\(j)]")))
            }
            if let index = tokens.firstIndex(where: { $0.mint == mint }) {
                tokens[index].proofs += proofs
            } else {
                tokens.append(Token(mint: mint, unit: unit, memo: memo, proofs: proofs))
            }
        }
        return tokens
    }

    private static func proof(from json: JSON, path: String) throws -> Proof {
        let fields = try DocumentFields(json, path: path)
        var dleq: ProofDLEQ?
        if let d = try fields.optionalObject("dleq") {
            dleq = try ProofDLEQ(e: d.text("e"), s: d.text("s"), r: d.text("r"))
        }
        do {
            return try Proof(
                amount: fields.unsigned("amount"), keysetID: fields.text("id"), secret: fields.text("secret"),
                C: fields.text("C"), dleq: dleq, witness: fields.optionalText("witness"))
        } catch let error as TokenError {
            throw error.at(path)
        }
    }
}
