import SatmeterLedger
import SatmeterPricing
import SatmeterSupport

/// `/admin/api/loop…`: the dashboard's Cohorts page runs the same loop as the CLI.
///
///     GET  loop                                   → the running canary (or null) and its comparison
///     POST loop/propose  {days?}                  → decisions, the bounded proposal (YAML), note
///     POST loop/canary   {header, value, route?, proposal?}   (proposal: YAML; default: the last proposal)
///     POST loop/promote                           → {promoted, verdict, lines, note}
///     POST loop/stop     {reason}
struct AdminPricingLoopAPI {
    let api: AdminAPI

    private var loop: PricingLoop { PricingLoop(admin: PricingAdmin(config: api.config), ledger: api.ledger) }
    private var lastProposalPath: String { PricingAdmin(config: api.config).store.directory + "/proposals/latest.yaml" }

    func run(_ method: String, _ action: String?) throws(APIError) {
        do {
            switch (method, action) {
            case ("GET", nil): try status()
            case ("POST", "propose"?): try propose()
            case ("POST", "canary"?): try canary()
            case ("POST", "promote"?): try promote()
            case ("POST", "stop"?): try stop()
            case (_, nil), (_, "propose"?), (_, "canary"?), (_, "promote"?), (_, "stop"?): throw APIError.methodNotAllowed(method)
            default: throw APIError.notFound(api.exchange.path)
            }
        } catch let error as APIError { throw error } catch let error as PricingAdminError { throw error.apiError } catch let error as LedgerError {
            throw error.apiError
        } catch let error as ConfigError { throw .invalidRequest(error.description) } catch { throw .internalError("\(error)") }
    }

    private func status() throws {
        guard let canary = try loop.canary() else { return api.send(["canary": .null]) }
        let comparison = try CohortComparison(ledger: api.ledger, route: canary.rule.route, since: canary.rule.startedAt,
                                              until: Clock.now() + 1, loop: api.config.pricing.loop)
        let verdict = comparison.verdict(for: canary.rule.cohort)
        var rule = canary.rule.json
        rule.set("cohort", .string(canary.rule.cohort))
        rule.set("prices", .string(canary.table.yaml()))
        api.send(["canary": rule, "verdict": .string(verdict.word), "lines": .array(verdict.lines.map { .string($0) }),
                  "tables": .array(comparison.tables.map(\.json))])
    }

    private func propose() throws {
        let body = try api.body()
        let days = body["days"]?.int64Value ?? api.config.pricing.loop.lookbackDays
        guard (1...365).contains(days) else { throw APIError.invalidRequest("days must be 1 to 365") }
        let proposal = try loop.propose(days: days, now: Clock.now(), output: lastProposalPath, fetcher: api.handler.services.fetcher)
        api.send(["decisions": .array(proposal.decisions.map { ["model": .string($0.model), "reason": .string($0.reason)] }),
                  "proposal": .string(proposal.table.yaml()), "change_note": .string(proposal.bounded.changeNote.render()),
                  "note": .string(proposal.notePath)])
    }

    private func canary() throws {
        let body = try api.body()
        guard let header = body["header"]?.stringValue, let value = body["value"]?.stringValue else {
            throw APIError.invalidRequest("'header' and 'value' are required")
        }
        guard let yaml = body["proposal"]?.stringValue ?? TextFile.read(lastProposalPath) else {
            throw APIError.invalidRequest("no proposal: send 'proposal' or run propose first")
        }
        let table = try PriceTable.parse(yaml: yaml, file: "proposal")
        let started = try loop.startCanary(table, header: header, value: value, route: body["route"]?.stringValue ?? PricingLoop.controlRoute,
                                           now: Clock.now())
        api.send(["cohort": .string(started.rule.cohort), "change_note": .string(started.bounded.changeNote.render()),
                  "refused": .int(Int64(started.bounded.refused.count)), "note": .string(started.notePath)])
    }

    private func promote() throws {
        let promotion = try loop.promote(now: Clock.now())
        api.send(["promoted": .bool(promotion.promoted), "verdict": .string(promotion.verdict.word),
                  "lines": .array(promotion.verdict.lines.map { .string($0) }), "note": .string(promotion.notePath)])
    }

    private func stop() throws {
        let reason = try api.body()["reason"]?.stringValue ?? "stopped from the dashboard"
        api.send(["stopped": true, "note": .string(try loop.stopCanary(reason: reason, now: Clock.now()))])
    }
}
