import SatmeterSupport

/// An upper bound on a request's prompt tokens, computed before the upstream call.
///
/// Tokenizers emit at least one byte per token for ordinary text, so the UTF-8 length of the
/// text fields bounds the token count from above; a few tokens per message cover the chat
/// framing. Over-estimating only holds more of the balance for the length of the call; the
/// charge comes from the usage the upstream reports.
enum PromptEstimate {
    static let perMessageOverhead = 8

    static func upperBound(for body: JSON) -> Int {
        var total = 16
        if let messages = body["messages"]?.arrayValue {
            for message in messages {
                total += perMessageOverhead + textBytes(message)
            }
        }
        for field in ["prompt", "input", "instructions", "system", "tools", "functions"] {
            if let value = body[field] { total += textBytes(value) }
        }
        return total
    }

    /// Text bytes in any JSON value (strings, nested arrays, objects).
    static func textBytes(_ json: JSON) -> Int {
        switch json {
        case let .string(s): s.utf8.count
        case let .array(items): items.reduce(0) { $0 + textBytes($1) }
        case let .object(members): members.reduce(0) { $0 + $1.0.utf8.count + textBytes($1.1) }
        case let .number(n): n.utf8.count
        default: 1
        }
    }

    /// A guess at tokens in text we saw ourselves (for usage the upstream did not report):
    /// about four bytes per token, rounded up.
    static func tokens(inTextBytes bytes: Int) -> Int { (bytes + 3) / 4 }
}
