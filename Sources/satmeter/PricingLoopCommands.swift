import ArgumentParser
import SatmeterGateway
import SatmeterPricing
import SatmeterSupport
import SatmeterUpstream

extension PricingCommand {
    /// `satmeter pricing propose`: a bounded change file from the last days of the request log.
    struct Propose: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Propose bounded price changes from the request log (margin, conversion, upstream cost) with the reasons.",
            discussion: "Writes a price table for `pricing apply [--canary H=V]` and archives a proposal note. Thresholds: pricing.loop.")
        @OptionGroup var common: CommonOptions
        @Option(help: "Days of the request log to read (default pricing.loop.lookback_days).") var days: Int64?
        @Option(help: "Where to write the change file.") var output = "price-proposal.yaml"
        @Flag(name: .customLong("no-fetch"), help: "Do not fetch the provider's model list first.") var noFetch = false

        func run() throws {
            let config = try common.load()
            let days = days ?? config.pricing.loop.lookbackDays
            guard (1...365).contains(days) else { throw ValidationError("--days must be 1...365") }
            let loop = PricingLoop(admin: PricingAdmin(config: config), ledger: try KeyAdmin(stateDirectory: config.stateDirectory).ledger)
            let proposal = try loop.propose(days: days, now: Clock.now(), output: output, fetcher: noFetch ? nil : CurlFetcher())
            for decision in proposal.decisions { print("\(decision.model): \(decision.reason)") }
            print("\n" + proposal.bounded.changeNote.render())
            print("written: \(output)\nnote: \(proposal.notePath)")
        }
    }

    /// `satmeter pricing promote`: the canary becomes the control when its checks pass.
    struct Promote: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the running canary's prices the control if its cohort passes the conversion and settlement checks; else say why.",
            discussion: "Exit 0 promoted, 3 not promoted (the canary keeps running).")
        @OptionGroup var common: CommonOptions

        func run() throws {
            let config = try common.load()
            let loop = PricingLoop(admin: PricingAdmin(config: config), ledger: try KeyAdmin(stateDirectory: config.stateDirectory).ledger)
            let promotion: PricingLoop.Promotion
            do { promotion = try loop.promote(now: Clock.now()) } catch let error as PricingAdminError { throw Failure(error.description) }
            print("\(promotion.promoted ? "promoted" : "not promoted (\(promotion.verdict.word))"): \(promotion.verdict.cohort)")
            for line in promotion.verdict.lines { print("- \(line)") }
            if let applied = promotion.applied { print("\n" + applied.changeNote.render()) }
            print("note: \(promotion.notePath)")
            if !promotion.promoted { throw ExitCode(3) }
        }
    }

    /// `satmeter pricing canary [--stop REASON]`: the running canary, or stop it.
    struct Canary: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the running canary and how it compares, or stop it (--stop).")
        @OptionGroup var common: CommonOptions
        @Option(help: "Stop the canary (the control is unchanged); the reason goes into the note.") var stop: String?

        func run() throws {
            let config = try common.load()
            let ledger = try KeyAdmin(stateDirectory: config.stateDirectory).ledger
            let loop = PricingLoop(admin: PricingAdmin(config: config), ledger: ledger)
            if let stop {
                do { print("stopped; note: \(try loop.stopCanary(reason: stop, now: Clock.now()))") } catch let error as PricingAdminError {
                    throw Failure(error.description)
                }
                return
            }
            guard let canary = try loop.canary() else { print("no canary is running"); return }
            print("canary: \(canary.rule.cohort) on \(canary.rule.route) since \(canary.rule.startedAt)\n\(canary.table.yaml())")
            let comparison = try CohortComparison(ledger: ledger, route: canary.rule.route, since: canary.rule.startedAt,
                                                  until: Clock.now() + 1, loop: config.pricing.loop)
            let verdict = comparison.verdict(for: canary.rule.cohort)
            print("verdict: \(verdict.word)")
            for line in verdict.lines { print("- \(line)") }
        }
    }

    /// `pricing apply FILE --canary HEADER=VALUE`: the bounded table goes to one header cohort first.
    static func applyCanary(_ spec: String, file: String, text: String, route: String, common: CommonOptions) throws {
        guard let eq = spec.firstIndex(of: "=") else { throw ValidationError("--canary takes HEADER=VALUE") }
        let config = try common.load()
        let loop = PricingLoop(admin: PricingAdmin(config: config), ledger: try KeyAdmin(stateDirectory: config.stateDirectory).ledger)
        let started: (rule: CanaryRule, bounded: PriceTableUpdate.Result, notePath: String)
        do {
            started = try loop.startCanary(try PriceTable.parse(yaml: text, file: file), header: String(spec[..<eq]),
                                           value: String(spec[spec.index(after: eq)...]), route: route, now: Clock.now())
        } catch let error as PricingAdminError { throw Failure(error.description) }
        print("canary started: \(started.rule.cohort) on \(route)\n")
        print(started.bounded.changeNote.render())
        print("note: \(started.notePath)")
        if !started.bounded.refused.isEmpty { throw ExitCode(2) }
    }
}
