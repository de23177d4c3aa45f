import Testing
@testable import SatmeterCashu
@testable import SatmeterSupport

/// Vectors from cashubtc/nuts tests/12-tests.md, plus tampering checks.
@Suite struct CashuDLEQTests {
    @Test func challengeHashVector() throws {
        let one = try PublicKey(hex: "020000000000000000000000000000000000000000000000000000000000000001")
        let c = try PublicKey(hex: "02a9acc1e48c25eeeb9289b5031cc57da9fe72f3fe2861d264bdc074209b107ba2")
        #expect(Hex.encode(DLEQ.challengeHash([one, one, one, c])) == "a4dc034b74338c28c6bc3ea49731f2a24440fc7c4affc08b31a93fc9fbe6401e")
    }

    @Test func deterministicNonceVector() throws {
        let a = try Scalar(hex: "0000000000000000000000000000000000000000000000000000000000000002")
        #expect(a.publicKey.hex == "02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5")
        let blinded = try PublicKey(hex: "02a9acc1e48c25eeeb9289b5031cc57da9fe72f3fe2861d264bdc074209b107ba2")
        let signature = try PublicKey(hex: "0244eccfc7a348274458bb38044c7f3c389b3c2086c7ec18b5812d2877ab937787")
        let proof = try DLEQ.prove(privateKey: a, blinded: blinded, signature: signature)
        #expect(proof.e.hex == "2a16ffee280aff3c429045607f9b8e0bf8b35910c44c1b20b9dfaf01b263d7b3")
        #expect(proof.s.hex == "9df27731238334718d120d4f74611a7c668233f988e687ac3fb188f0a34a2dab")
        #expect(DLEQ.verify(proof, mintKey: a.publicKey, blinded: blinded, signature: signature))
    }

    @Test func blindSignatureVector() throws {
        let a = try PublicKey(hex: "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
        let blinded = try PublicKey(hex: "02a9acc1e48c25eeeb9289b5031cc57da9fe72f3fe2861d264bdc074209b107ba2")
        let signature = try PublicKey(hex: "02a9acc1e48c25eeeb9289b5031cc57da9fe72f3fe2861d264bdc074209b107ba2")
        let proof = DLEQ.Challenge(
            e: try Scalar(hex: "9818e061ee51d5c8edc3342369a554998ff7b4381c8652d724cdf46429be73d9"),
            s: try Scalar(hex: "9818e061ee51d5c8edc3342369a554998ff7b4381c8652d724cdf46429be73da"))
        #expect(DLEQ.verify(proof, mintKey: a, blinded: blinded, signature: signature))
        // The same proof for another blinded message, key or signature must fail.
        let other = Scalar.random().publicKey
        #expect(!DLEQ.verify(proof, mintKey: other, blinded: blinded, signature: signature))
        #expect(!DLEQ.verify(proof, mintKey: a, blinded: other, signature: signature))
        #expect(!DLEQ.verify(proof, mintKey: a, blinded: blinded, signature: other))
        #expect(!DLEQ.verify(DLEQ.Challenge(e: proof.s, s: proof.s), mintKey: a, blinded: blinded, signature: signature))
    }

    static func vectorProof() throws -> Proof {
        try Proof(
            amount: 1, keysetID: "00882760bfa2eb41",
            secret: "daf4dd00a2b68a0858a80450f52c8a7d2ccf87d375e43e216e0c571f089f63e9",
            C: "024369d2d22a80ecf78f3937da9d5f30c1b9f74f0c32684d583cca0fa6a61cdcfc",
            dleq: ProofDLEQ(
                e: "b31e58ac6527f34975ffab13e70a48b6d2b0d35abc4b03f0151f09ee1a9763d4",
                s: "8fbae004c59e754d71df67e392b6ae4e29293113ddc2ec86592a0431d16306d8",
                r: "a6d13fcd7a18442e6076f5e1e7c887ad5de40a019824bdfa9fe740d302e8d861"))
    }
    static let vectorKey = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"

    @Test func proofVector() throws {
        let a = try PublicKey(hex: Self.vectorKey)
        #expect(DLEQ.verify(try Self.vectorProof(), mintKey: a))
        #expect(!DLEQ.verify(try Self.vectorProof(), mintKey: Scalar.random().publicKey))
    }

    @Test func tamperedProofsFail() throws {
        let a = try PublicKey(hex: Self.vectorKey)
        let p = try Self.vectorProof()
        let dleq = try #require(p.dleq)
        let otherSecret = try Proof(amount: 1, keysetID: p.keysetID, secret: p.secret + "0", C: p.C, dleq: dleq)
        #expect(!DLEQ.verify(otherSecret, mintKey: a))
        let otherR = try Proof(amount: 1, keysetID: p.keysetID, secret: p.secret, C: p.C, dleq: ProofDLEQ(e: dleq.e, s: dleq.s, r: dleq.e))
        #expect(!DLEQ.verify(otherR, mintKey: a))
        let noDLEQ = try Proof(amount: 1, keysetID: p.keysetID, secret: p.secret, C: p.C)
        #expect(!DLEQ.verify(noDLEQ, mintKey: a))
        // s = 0 is not a scalar: refused, not crashed on.
        let zeroS = try Proof(
            amount: 1, keysetID: p.keysetID, secret: p.secret, C: p.C,
            dleq: ProofDLEQ(e: dleq.e, s: String(repeating: "0", count: 64), r: dleq.r))
        #expect(!DLEQ.verify(zeroS, mintKey: a))
    }

    @Test func proveThenVerifyFromTheReceiversSide() throws {
        let k = Scalar.random()
        let secret = BDHKE.randomSecret()
        let blinded = try BDHKE.blind(secret: secret)
        let blindSignature = BDHKE.sign(blinded: blinded.blinded, privateKey: k)
        let challenge = try DLEQ.prove(privateKey: k, blinded: blinded.blinded, signature: blindSignature)
        #expect(DLEQ.verify(challenge, mintKey: k.publicKey, blinded: blinded.blinded, signature: blindSignature))
        let c = try BDHKE.unblind(signature: blindSignature, blindingFactor: blinded.blindingFactor, mintKey: k.publicKey)
        let proof = try Proof(
            amount: 8, keysetID: "00882760bfa2eb41", secret: secret, C: c.hex,
            dleq: ProofDLEQ(e: challenge.e.hex, s: challenge.s.hex, r: blinded.blindingFactor.hex))
        #expect(DLEQ.verify(proof, mintKey: k.publicKey))
    }

    /// The DLEQs a Nutshell 0.19.2 mint made check out against that mint's published keys.
    @Test func nutshellDLEQsVerify() throws {
        let keyset = try #require(Keyset.parseKeysResponse(JSON.parse(KeysetVectors.nutshellKeysResponse)).first)
        let token = try Token.parse(TokenVectors.nutshellWithDLEQ)
        for proof in token.proofs {
            let key = try #require(keyset.keys[proof.amount])
            #expect(DLEQ.verify(proof, mintKey: key))
            #expect(!DLEQ.verify(proof, mintKey: try #require(keyset.keys[proof.amount * 2])))
        }
    }
}
