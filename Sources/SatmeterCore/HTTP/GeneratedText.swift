/// The text a model generated, in the bytes of a response's `choices` (a whole answer or one
/// stream chunk): content, refusals, reasoning, tool-call names and arguments, completion text.
/// JSON keys, ids, roles, indexes and nulls are framing, not tokens the upstream bills; counting
/// them charged a stream without usage several times its real completion.
enum GeneratedText {
    static let textFields = ["content", "refusal", "reasoning", "reasoning_content", "text"]

    static func bytes(inChoices choices: JSON?) -> Int {
        guard let choices = choices?.arrayValue else { return 0 }
        var total = 0
        for choice in choices {
            total = PromptEstimate.adding(total, stringBytes(choice["text"]))
            for message in [choice["message"], choice["delta"]] {
                guard let message else { continue }
                total = PromptEstimate.adding(total, bytes(inMessage: message))
            }
        }
        return total
    }

    static func bytes(inMessage message: JSON) -> Int {
        var total = 0
        for field in textFields {
            total = PromptEstimate.adding(total, stringBytes(message[field]))
        }
        var calls = message["tool_calls"]?.arrayValue ?? []
        if let legacy = message["function_call"] { calls.append(["function": legacy]) }
        for call in calls {
            total = PromptEstimate.adding(total, stringBytes(call["function"]?["name"]))
            total = PromptEstimate.adding(total, stringBytes(call["function"]?["arguments"]))
        }
        return total
    }

    /// A string's bytes; content given as a list of parts counts each part's text.
    private static func stringBytes(_ value: JSON?) -> Int {
        switch value {
        case let .string(s)?: s.utf8.count
        case let .array(parts)?: parts.reduce(0) { PromptEstimate.adding($0, stringBytes($1["text"])) }
        default: 0
        }
    }
}
