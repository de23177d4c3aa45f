import Testing
@testable import SatmeterGateway
@testable import SatmeterSupport

@Suite struct ProxiedRequestTests {
    @Test func validChatRequest() throws {
        let body = try JSON.parse(#"{"model":"gpt-4o","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hello"}]}"#)
        let request = try ProxiedRequest(body: body, endpoint: .chatCompletions)
        #expect(request.model == "gpt-4o" && request.stream && request.maxCompletionTokens == 100 && !request.clientWantsUsage)
        #expect(request.promptTokenBound >= 5)
    }

    @Test func theSmallerOfTheTwoLimitsWins() throws {
        let body = try JSON.parse(#"{"model":"m","max_tokens":100,"max_completion_tokens":50}"#)
        #expect(try ProxiedRequest(body: body, endpoint: .chatCompletions).maxCompletionTokens == 50)
    }

    @Test(arguments: [
        #"{"messages":[]}"#,
        #"{"model":5}"#,
        #"{"model":""}"#,
        #"{"model":"m","max_tokens":0}"#,
        #"{"model":"m","max_tokens":-5}"#,
        #"{"model":"m","max_tokens":1.5}"#,
        #"{"model":"m","max_tokens":99999999999999999999}"#,
        #"{"model":"m","stream":"yes"}"#,
    ])
    func invalidRequestsAreClientErrors(_ text: String) throws {
        let body = try JSON.parse(text)
        #expect(throws: APIError.self) { try ProxiedRequest(body: body, endpoint: .chatCompletions) }
    }

    @Test func embeddingsHaveNoCompletionAndCannotStream() throws {
        let body = try JSON.parse(#"{"model":"e","input":"abc"}"#)
        #expect(try ProxiedRequest(body: body, endpoint: .embeddings).maxCompletionTokens == 0)
        let streamed = try JSON.parse(#"{"model":"e","input":"abc","stream":true}"#)
        #expect(throws: APIError.self) { try ProxiedRequest(body: streamed, endpoint: .embeddings) }
    }

    @Test func promptBoundCoversEveryByteOfText() throws {
        let text = String(repeating: "ab ", count: 1000)
        let body: JSON = ["model": "m", "messages": [["role": "user", "content": .string(text)]]]
        #expect(PromptEstimate.upperBound(for: body) >= text.utf8.count)
    }

    @Test func endpointsRouteByMethodAndPath() {
        #expect(Endpoint(method: "POST", path: "/v1/chat/completions") == .chatCompletions)
        #expect(Endpoint(method: "GET", path: "/v1/chat/completions") == .wrongMethod("GET"))
        #expect(Endpoint(method: "GET", path: "/v1/models/") == .models)
        #expect(Endpoint(method: "GET", path: "/v1/../etc/passwd") == .unknown)
    }

    @Test func errorsAreOpenAIShaped() {
        let error = APIError.insufficientBalance(availableMsat: 1_500, requiredMsat: 20_000)
        #expect(error.status == 402)
        #expect(Exchange.errorBody(error).serialized ==
            #"{"error":{"type":"insufficient_balance","message":"Insufficient balance. Current: 1.5 sats, Required: 20 sats","param":null,"code":"insufficient_balance"}}"#)
    }
}
