import SatmeterSupport

/// Upstream error bodies are relayed to clients (their messages help), but they can name the
/// operator's upstream account: organization and project ids, fragments of the upstream key
/// ("Incorrect API key provided: sk-proj-ab***yz"). Those words are replaced before relaying.
enum UpstreamErrorScrub {
    static let placeholder = "[redacted]"

    /// Word prefixes that name an account or a key at OpenAI-compatible providers.
    static let accountPrefixes = ["sk-", "sk_", "org-", "org_", "proj_", "proj-", "user-", "acct_", "key-", "rk_", "pk_"]

    /// Every string in `json` (keys kept) with account words and `secrets` replaced.
    static func scrub(_ json: JSON, secrets: [String]) -> JSON {
        switch json {
        case let .string(text): .string(scrub(text, secrets: secrets))
        case let .array(items): .array(items.map { scrub($0, secrets: secrets) })
        case let .object(members): .object(members.map { ($0.0, scrub($0.1, secrets: secrets)) })
        default: json
        }
    }

    static func scrub(_ text: String, secrets: [String]) -> String {
        var text = text
        for secret in secrets where secret.utf8.count >= 8 { text = text.replacing(secret, with: placeholder) }
        var out = ""
        var word = ""
        func flush() {
            let lower = word.lowercased()
            out += accountPrefixes.contains(where: { lower.hasPrefix($0) && word.count > $0.count + 2 }) ? placeholder : word
            word = ""
        }
        for character in text {
            if character.isLetter || character.isNumber || "-_*.".contains(character) {
                word.append(character)
            } else {
                flush()
                out.append(character)
            }
        }
        flush()
        return out
    }
}
