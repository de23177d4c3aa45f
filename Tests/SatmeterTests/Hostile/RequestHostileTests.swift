import Testing
@testable import SatmeterGateway
@testable import SatmeterSupport

/// `n` was passed to the upstream unchecked while pricing clamps it to 1...128 for the reservation:
/// `n: 500` reserved (and so charged at most) 128 choices for a lenient upstream's 500, and
/// `n: -1` or `n: 1e30` went upstream as sent. Found by Tests/integration/test_hostile_input.py.
@Suite struct RequestHostileTests {
    @Test(arguments: ["-1", "0", "0.5", "129", "1e30", "9223372036854775808", "\"2\"", "true", "[]", "{}"])
    func choicesOutsideOneTo128AreRefused(_ n: String) throws {
        let body = try JSON.parse(#"{"model":"m","n":\#(n)}"#)
        #expect(throws: APIError.invalidRequest("'n' must be a whole number from 1 to 128")) {
            try ProxiedRequest(body: body, endpoint: .chatCompletions)
        }
    }

    @Test(arguments: ["1", "128", "2.0", "1e2", "null"])
    func choicesInRangeAreTaken(_ n: String) throws {
        _ = try ProxiedRequest(body: JSON.parse(#"{"model":"m","n":\#(n)}"#), endpoint: .chatCompletions)
    }

    @Test func publicCheckAgreesWithTheProxy() throws {
        #expect(throws: APIError.invalidRequest("'n' must be a whole number from 1 to 128")) {
            try RequestCheck.validate(method: "POST", path: "/v1/chat/completions", body: Array(#"{"model":"m","n":500}"#.utf8))
        }
        #expect(throws: APIError.methodNotAllowed("GET")) { try RequestCheck.validate(method: "GET", path: "/v1/completions/", body: []) }
        #expect(throws: APIError.notFound("/v1/../etc/passwd")) { try RequestCheck.validate(method: "POST", path: "/v1/../etc/passwd", body: []) }
        #expect(try RequestCheck.validate(method: "GET", path: "/v1/models", body: []) == nil)
        let summary = try RequestCheck.validate(method: "POST", path: "/v1/embeddings", body: Array(#"{"model":"e","input":"abc"}"#.utf8))
        #expect(summary?.maxCompletionTokens == 0 && summary?.route == "POST /v1/embeddings")
    }
}
