import SatmeterLedger
import SatmeterPricing
import SatmeterSupport

/// The weekly pricing checklist as operations: propose a bounded change from the request log,
/// roll it out to one header cohort, compare, promote it to the control. Every step archives a
/// note in `<state>/pricing/changes/`.
public struct PricingLoop {
    public let admin: PricingAdmin
    public let ledger: Ledger
    let canaries: CanaryStore

    public init(admin: PricingAdmin, ledger: Ledger) {
        self.admin = admin
        self.ledger = ledger
        canaries = CanaryStore(directory: admin.store.directory)
    }

    var loop: PricingLoopConfig { admin.config.pricing.loop }
    static let controlRoute = "POST /v1/chat/completions"

    // MARK: Propose

    public struct Proposal: Sendable {
        public var decisions: [PriceProposer.Decision]
        /// The proposal after the bounded step: what `pricing apply` would install.
        public var table: PriceTable
        public var bounded: PriceTableUpdate.Result
        public var notePath: String
    }

    /// Reads the last `days` of the request log, decides per model, bounds the result from the
    /// prices in force and writes it to `output`. `refreshCatalog` fetches the provider's model
    /// list first (when `pricing.models_source` is set).
    public func propose(days: Int64, now: Int64, output: String, fetcher: (any HTTPFetching)? = nil) throws -> Proposal {
        let engine = try admin.engine()
        if let fetcher, engine.config.modelsSource.url != nil { _ = try? engine.refreshCatalog(fetcher: fetcher) }
        let activity = try ledger.reports.modelActivity(since: now - days * 86_400, until: now + 1, windowSeconds: loop.conversionWindowSeconds)
        let proposer = PriceProposer(loop: loop, days: days)
        let resolver = PriceResolver(config: engine.config, catalog: engine.catalog)
        var decisions: [PriceProposer.Decision] = []
        for row in activity {
            let request = PricingRequest(route: Self.controlRoute, model: row.model, estimatedPromptTokens: 0, maxCompletionTokens: 0)
            guard let resolved = try? resolver.resolve(request) else {
                decisions.append(.init(model: row.model, proposed: nil, reason: "keep: not priced on \(Self.controlRoute)"))
                continue
            }
            let match = engine.catalog.lookup(row.model)
            decisions.append(proposer.decide(.init(model: row.model, price: resolved.price, source: resolved.source,
                                                   upstreamCost: match?.model.cost, costFromProviderList: match?.fetched ?? false,
                                                   activity: row)))
        }
        let changed = decisions.filter { $0.proposed != nil }
        let reason = changed.isEmpty ? "no change proposed" : changed.map { "\($0.model): \($0.reason)" }.joined(separator: "; ")
        let raw = PriceTable(entries: changed.map { .init(model: $0.model, price: $0.proposed!) }, reason: reason)
        let bounded = admin.boundedStep(try admin.boundedBase(for: raw), raw, now: now)
        let table = PriceTable(entries: changed.compactMap { d in bounded.applied[d.model].map { .init(model: d.model, price: $0) } }, reason: reason)
        try canaries.write(table.yaml(), output)
        var note = "# Price proposal \(UTCTime.iso8601(now))\n\n- Read: the last \(days) days of the request log\n- Written to: \(output)\n\n"
        note += "## Per model\n\n| model | decision |\n|---|---|\n"
        for d in decisions { note += "| \(d.model) | \(d.reason.replacing("|", with: "\\|")) |\n" }
        note += "\n## Within the bounds\n\n" + bounded.changeNote.render()
        let path = try canaries.archive(note, kind: "proposal", at: now)
        return Proposal(decisions: decisions, table: table, bounded: bounded, notePath: path)
    }

    // MARK: Canary

    /// Bounds the proposal from the control's prices and installs it as a match rule for
    /// `header: value` on `route`. Only one canary runs at a time.
    public func startCanary(_ proposed: PriceTable, header: String, value: String, route: String, now: Int64)
        throws -> (rule: CanaryRule, bounded: PriceTableUpdate.Result, notePath: String)
    {
        guard try canaries.load() == nil else { throw PricingAdminError.invalid("a canary is running already: promote it or stop it first") }
        let name = header.lowercased()
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), !value.isEmpty, !value.contains("*") else {
            throw PricingAdminError.invalid("--canary takes HEADER=VALUE: a header name and a literal value")
        }
        let bounded = admin.boundedStep(try admin.boundedBase(for: proposed), proposed, now: now)
        let table = PriceTable(entries: proposed.entries.compactMap { e in bounded.applied[e.model].map { .init(model: e.model, price: $0) } },
                               reason: proposed.reason)
        let rule = CanaryRule(route: route, header: name, value: value, startedAt: now, reason: proposed.reason ?? "(no reason given)")
        let note = "# Canary started \(UTCTime.iso8601(now))\n\n- Cohort: `\(rule.cohort)` on \(route)\n- Control: every other request\n\n"
            + bounded.changeNote.render()
        // The note first: an interrupted start leaves a note and no canary, never a canary without a note.
        let path = try canaries.archive(note, kind: "canary", at: now)
        try canaries.save(rule, table)
        return (rule, bounded, path)
    }

    public func canary() throws(PriceStoreError) -> (rule: CanaryRule, table: PriceTable)? { try canaries.load() }

    /// Removes the canary without touching the control; archives why.
    public func stopCanary(reason: String, now: Int64) throws -> String {
        guard let canary = try canaries.load() else { throw PricingAdminError.invalid("no canary is running") }
        let comparison = try CohortComparison(ledger: ledger, route: canary.rule.route, since: canary.rule.startedAt, until: now + 1, loop: loop)
        var note = "# Canary stopped \(UTCTime.iso8601(now))\n\n- Cohort: `\(canary.rule.cohort)` on \(canary.rule.route)\n- Why: \(reason)\n\n"
        note += Self.impact(comparison.verdict(for: canary.rule.cohort))
        let path = try canaries.archive(note, kind: "canary-stopped", at: now)
        canaries.remove()
        return path
    }

    // MARK: Promote

    public struct Promotion: Sendable {
        public var promoted: Bool
        public var verdict: CohortComparison.Verdict
        /// The bounded apply to the control, when promoted.
        public var applied: PriceTableUpdate.Result?
        public var notePath: String
    }

    /// Makes the canary's prices the control when its cohort passes the checks of `pricing.loop`
    /// against the control since the canary started; otherwise keeps it running and says why.
    public func promote(now: Int64) throws -> Promotion {
        guard let canary = try canaries.load() else { throw PricingAdminError.invalid("no canary is running: start one with pricing apply --canary") }
        let comparison = try CohortComparison(ledger: ledger, route: canary.rule.route, since: canary.rule.startedAt, until: now + 1, loop: loop)
        let verdict = comparison.verdict(for: canary.rule.cohort)
        var note = "# Canary \(verdict.passed ? "promoted" : "not promoted") \(UTCTime.iso8601(now))\n\n"
        note += "- Cohort: `\(canary.rule.cohort)` on \(canary.rule.route), since \(UTCTime.iso8601(canary.rule.startedAt))\n"
        note += "- Why it was proposed: \(canary.rule.reason)\n\n" + Self.impact(verdict)
        guard verdict.passed else {
            return Promotion(promoted: false, verdict: verdict, applied: nil, notePath: try canaries.archive(note, kind: "promotion-refused", at: now))
        }
        var table = canary.table
        table.reason = "promoted canary \(canary.rule.cohort): \(canary.rule.reason)"
        let applied = try admin.apply(table)
        note += "\n## Applied to the control\n\n" + applied.changeNote.render()
        let path = try canaries.archive(note, kind: "promotion", at: now)
        canaries.remove()
        return Promotion(promoted: true, verdict: verdict, applied: applied, notePath: path)
    }

    /// The measured impact, as the verdict's lines.
    static func impact(_ verdict: CohortComparison.Verdict) -> String {
        "## Measured against the control: \(verdict.word)\n\n" + verdict.lines.map { "- \($0)\n" }.joined()
    }
}
