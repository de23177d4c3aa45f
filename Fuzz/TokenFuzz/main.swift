import FuzzSupport
import SatmeterCashu

// Cashu tokens as clients send them (`X-Cashu`, `Authorization: Bearer cashu…`): cashuA (V3, JSON)
// and cashuB (V4, CBOR) text, and the binary `craw` form.
// Properties: a token that was read writes out as a token that reads back with the same proofs.
Fuzzer.run { bytes in
    if let tokens = try? Token.parseMultiMint(String(decoding: bytes, as: UTF8.self)) {
        tokens.forEach(checkRoundTrip)
    }
    if let token = try? Token.parse(rawBytes: bytes) { checkRoundTrip(token) }
}

func checkRoundTrip(_ token: Token) {
    _ = try? token.totalAmount()
    let text = token.serialized()
    guard text.utf8.count <= Token.maxEncodedLength else { return }
    guard let again = try? Token.parse(text) else { return Fuzzer.require(false, "cannot read back \(text)") }
    // V4 groups proofs by keyset, so their order may change; nothing else may.
    Fuzzer.require(again.mint == token.mint && again.unit == token.unit && again.memo == token.memo, "fields changed: \(token)")
    Fuzzer.require(again.proofs.count == token.proofs.count && token.proofs.allSatisfy(again.proofs.contains), "proofs changed: \(token)")
    Fuzzer.require(again.serialized() == text, "cashuB is not stable: \(text)")
    Fuzzer.require((try? Token.parse(rawBytes: token.rawBytes)) == again, "craw differs from cashuB: \(token)")
}
