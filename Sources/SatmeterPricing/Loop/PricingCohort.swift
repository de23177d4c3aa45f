/// Pricing cohorts: every priced request belongs to the match rule that priced it, or to the
/// control (no rule). The name is the rule's conditions, so it survives edits that move lines.
public enum PricingCohort {
    public static let control = "control"
}

extension MatchRule {
    /// "headers.x-pricing-version=v2", "body.metadata.tier=enterprise*,model=gpt-4o".
    public var cohort: String {
        conditions.isEmpty ? "match" : conditions.map(\.summary).joined(separator: ",")
    }
}

extension MatchCondition {
    var summary: String {
        switch field {
        case let .header(name): "headers.\(name)=\(pattern.text)"
        case let .body(path): "body.\(path.joined(separator: "."))=\(pattern.text)"
        case .model: "model=\(pattern.text)"
        case .time: "time=\(pattern.text)"
        case .days: "days=\(pattern.text)"
        }
    }
}
