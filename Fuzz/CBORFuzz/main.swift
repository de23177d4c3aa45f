import FuzzSupport
import SatmeterCashu

// The CBOR reader under cashuB tokens, and NUT-18 payment requests (`creqA…`).
// Properties: the shortest-form encoding of a decoded item decodes to the same item and is never
// longer than the input; a payment request reads back from its own encoding.
Fuzzer.run { bytes in
    if let item = try? CBOR.decode(bytes) {
        let canonical = item.encoded
        Fuzzer.require(canonical.count <= bytes.count, "re-encoding grew from \(bytes.count) to \(canonical.count) bytes")
        Fuzzer.require((try? CBOR.decode(canonical)) == item, "re-encoding changed \(item)")
    }
    if let request = try? PaymentRequest.decode(String(decoding: bytes, as: UTF8.self)) {
        let text = request.encoded()
        if text.utf8.count <= PaymentRequest.maxEncodedLength {
            Fuzzer.require((try? PaymentRequest.decode(text)) == request, "payment request round trip changed \(text)")
        }
    }
}
