import Testing
@testable import SatmeterCashu
@testable import SatmeterLedger
@testable import SatmeterSupport

/// The security review's unit-level items: timing-safe comparison, keys kept only as hashes,
/// secrets kept out of descriptions (which is what log lines are made of).
@Suite struct SecurityHostileTests {
    /// Semantics only; the time it takes depends on the length alone by construction (no early
    /// exit), which a timing measurement in a test could not show reliably.
    @Test func constantTimeEqualIsEqualityOfLengthAndEveryByte() {
        let a = Digest.sha256("sk-secret")
        #expect(Digest.constantTimeEqual(a, a))
        #expect(Digest.constantTimeEqual([], []))
        for i in a.indices {  // a difference in any position, first and last included
            var b = a
            b[i] ^= 0x80
            #expect(!Digest.constantTimeEqual(a, b))
            #expect(!Digest.constantTimeEqual(b, a))
        }
        #expect(!Digest.constantTimeEqual(a, Array(a.dropLast())))
        #expect(!Digest.constantTimeEqual(a, a + [0]))
        #expect(!Digest.constantTimeEqual([], [0]))
    }

    @Test func apiKeysAreKeptAsSHA256WithASevenCharacterHint() {
        let key = APIKey.generate()
        #expect(key.hasPrefix("sk-") && key.utf8.count == 67)
        #expect(APIKey.hash(key) == Hex.encode(Digest.sha256(key)))
        #expect(!APIKey.hash(key).contains(key.dropFirst(3)))
        #expect(APIKey.hint(key) == String(key.prefix(7)) + "…")
    }

    @Test func tokenAndProofDescriptionsHoldNoSecretOrSignature() throws {
        let token = try Token.parse(TokenVectors.nutshellWithDLEQ)
        let text = "\(token) \(token.proofs) \(token.proofs.map(\.description))"
        for proof in token.proofs {
            #expect(!text.contains(proof.secret) && !text.contains(proof.C))
            #expect(!text.contains(proof.dleq?.r ?? "-"))
        }
    }

    @Test func tokenErrorsNeverQuoteTheToken() {
        let secret = "4c6f6e6720736563726574207468617420736861726573206e6f7468696e67"
        for text in ["cashuA" + Base64URL.encode(Array(#"{"token":[{"mint":"m","proofs":[{"amount":1,"secret":"\#(secret)"}]}]}"#.utf8)),
                     "cashuB" + secret, "cashuZ" + secret] {
            do {
                _ = try Token.parse(text)
                Issue.record("parsed \(text)")
            } catch {
                #expect(!error.description.contains(secret))
            }
        }
    }
}
