import SatmeterSupport

/// The text a model generated, in the bytes of a response's `choices` (a whole answer or one
/// stream chunk): content, refusals, reasoning, tool-call names and arguments, completion text.
/// JSON keys, ids, roles, indexes and nulls are framing, not tokens the upstream bills; counting
/// them charged a stream without usage several times its real completion.
enum GeneratedText {
    static let textFields = ["content", "refusal", "reasoning", "reasoning_content", "text"]

    /// Estimated tokens generated in a whole answer: chat and completions `choices`, or the
    /// Responses API's `output` items (message text, function-call arguments, reasoning summaries).
    static func tokens(in answer: JSON) -> Int {
        var total = tokens(inChoices: answer["choices"])
        for item in answer["output"]?.arrayValue ?? [] {
            var texts: [String] = []
            for field in ["content", "summary"] {
                for part in item[field]?.arrayValue ?? [] { if let text = part["text"]?.stringValue { texts.append(text) } }
            }
            for field in ["arguments", "name"] { if let text = item[field]?.stringValue { texts.append(text) } }
            for text in texts { total = PromptEstimate.adding(total, TextTokens.estimate(text)) }
        }
        // Anthropic's Messages: content blocks (text, thinking, tool_use input).
        for block in answer["choices"] == nil ? answer["content"]?.arrayValue ?? [] : [] {
            for field in ["text", "thinking"] {
                if let text = block[field]?.stringValue { total = PromptEstimate.adding(total, TextTokens.estimate(text)) }
            }
            if let input = block["input"] { total = PromptEstimate.adding(total, TextTokens.estimate(input.serialized)) }
        }
        return total
    }

    /// Estimated tokens of the generated text in `choices` (see `TextTokens`).
    static func tokens(inChoices choices: JSON?) -> Int {
        var total = 0
        visitTexts(inChoices: choices) { total = PromptEstimate.adding(total, TextTokens.estimate($0)) }
        return total
    }

    static func bytes(inChoices choices: JSON?) -> Int {
        var total = 0
        visitTexts(inChoices: choices) { total = PromptEstimate.adding(total, $0.utf8.count) }
        return total
    }

    private static func visitTexts(inChoices choices: JSON?, _ visit: (String) -> Void) {
        guard let choices = choices?.arrayValue else { return }
        for choice in choices {
            strings(choice["text"], visit)
            for message in [choice["message"], choice["delta"]] {
                guard let message else { continue }
                for field in textFields { strings(message[field], visit) }
                var calls = message["tool_calls"]?.arrayValue ?? []
                if let legacy = message["function_call"] { calls.append(["function": legacy]) }
                for call in calls {
                    strings(call["function"]?["name"], visit)
                    strings(call["function"]?["arguments"], visit)
                }
            }
        }
    }

    /// A string; content given as a list of parts visits each part's text.
    private static func strings(_ value: JSON?, _ visit: (String) -> Void) {
        switch value {
        case let .string(s)?: visit(s)
        case let .array(parts)?: for part in parts { strings(part["text"], visit) }
        default: break
        }
    }
}

/// Tokens in text, estimated the way BPE tokenizers split it: a word (with its leading space) is
/// one token, a long one a token per 10 letters; digits a token per 3; each punctuation mark or
/// symbol one; a run of spaces with a line break (indentation) one; each non-ASCII character one.
/// Within ±30% of GPT tokenizers on English prose and code (checked against one in the tests);
/// bytes / 4 charged English about 1.5× its real count.
enum TextTokens {
    static func estimate(_ text: String) -> Int {
        var tokens = 0
        var letters = 0, digits = 0, spaces = 0
        var breakInSpaces = false
        func endRuns() {
            if letters > 0 { tokens += 1 + (letters - 1) / 10 }
            if digits > 0 { tokens += (digits + 2) / 3 }
            if spaces > 1 || breakInSpaces { tokens += 1 }
            letters = 0
            digits = 0
            spaces = 0
            breakInSpaces = false
        }
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x41...0x5A, 0x61...0x7A:
                if digits > 0 || spaces > 0 { endRuns() }
                letters += 1
            case 0x30...0x39:
                if letters > 0 || spaces > 0 { endRuns() }
                digits += 1
            case 0x20, 0x09, 0x0A, 0x0D:
                if letters > 0 || digits > 0 { endRuns() }
                spaces += 1
                if scalar.value != 0x20 { breakInSpaces = true }
            default:
                endRuns()
                tokens += 1
            }
        }
        endRuns()
        return tokens
    }
}
