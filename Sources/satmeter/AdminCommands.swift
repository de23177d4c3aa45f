import ArgumentParser
import Glibc
import SatmeterGateway
import SatmeterPricing
import SatmeterSupport

/// `satmeter admin …`: the dashboard's own settings.
struct AdminCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Set up the admin dashboard (served at /admin/).", subcommands: [SetPassword.self])

    struct SetPassword: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-password",
            abstract: "Set the admin password, read from standard input (one line; not echoed on a terminal).",
            discussion: """
                Stored as a salted scrypt hash in the database; every open dashboard session ends.
                Alternatively set SATMETER_ADMIN_PASSWORD for `satmeter serve` (read once at start, then removed
                from the environment). At least 10 characters. Example: `satmeter admin set-password < pw.txt`.
                """)
        @OptionGroup var common: CommonOptions

        func run() throws {
            let ledger = try KeyAdmin(stateDirectory: try common.load().stateDirectory).ledger
            let password = try Terminal.readSecretLine(prompt: "Admin password: ")
            try AdminPassword.set(password, ledger: ledger)
            print("admin password set")
        }
    }
}

/// `satmeter report NAME`: the dashboard's charts as tables.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Print a report: margin, conversion, cohorts, pricing, settlement, revenue, wallet or summary.",
        discussion: ReportCatalog.names.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)." }.joined(separator: "\n"))
    @OptionGroup var common: CommonOptions
    @Argument(help: "Report name.") var name: String
    @Option(help: "How many days back.") var days: Int = 7
    @Flag(help: "Print JSON (the admin API's shape).") var json = false
    @Option(help: "cohorts: the route to compare on.") var route = "POST /v1/chat/completions"
    @Option(help: "Start time instead of --days: 2026-11-01, 2026-11-01T12:00:00Z, unix seconds or 7d.") var since: String?

    func run() throws {
        guard (1...3650).contains(days) else { throw ValidationError("--days must be 1...3650") }
        let config = try common.load()
        var catalog = ReportCatalog(ledger: try KeyAdmin(stateDirectory: config.stateDirectory).ledger)
        catalog.cohortRoute = route
        catalog.loop = config.pricing.loop
        if let since {
            guard let start = SinceParser.parse(since, now: catalog.now) else { throw ValidationError("--since: a date, a UTC time, unix seconds or Nd") }
            catalog.since = start
        }
        let output = json ? try catalog.json(name, days: days)?.serialized : try catalog.text(name, days: days)
        guard let output else { throw ValidationError("unknown report '\(name)' (one of \(ReportCatalog.names.keys.sorted().joined(separator: ", ")))") }
        print(output)
    }
}

/// `satmeter requests`: the newest request-log records, one JSON object a line.
struct RequestsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requests", abstract: "Print the newest request-log records as JSON lines (key ids only, never keys).")
    @OptionGroup var common: CommonOptions
    @Option(help: "How many records.") var limit: Int = 50

    func run() throws {
        guard (1...100_000).contains(limit) else { throw ValidationError("--limit must be 1...100000") }
        let ledger = try KeyAdmin(stateDirectory: try common.load().stateDirectory).ledger
        for record in try ledger.requestLog.recentRequests(limit: limit).reversed() { print(record.json.serialized) }
    }
}

extension Keys {
    struct SetExpiry: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-expiry", abstract: "Set when a key stops working (or --never).",
            discussion: "An expired key gets 401 key_expired; its balance stays withdrawable with `satmeter keys withdraw`.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Key id.") var id: Int64
        @Option(help: "Unix time.") var at: Int64?
        @Option(name: .customLong("in-days"), help: "Days from now.") var inDays: Int64?
        @Flag(help: "Never expire.") var never = false

        func run() throws {
            let choices = [at != nil, inDays != nil, never].filter { $0 }.count
            guard choices == 1 else { throw ValidationError("give exactly one of --at, --in-days, --never") }
            let when = at ?? inDays.map { Clock.now() + $0 * 86_400 }
            try KeyAdmin(stateDirectory: try common.load().stateDirectory).ledger.accounts.setExpiry(accountID: id, when)
            print(when.map { "key \(id) expires at \($0)" } ?? "key \(id) never expires")
        }
    }

    struct SetLimit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-limit", abstract: "Set the most a key may spend in total, charged plus in flight (or --none).",
            discussion: "A parent key's limit counts what its child keys spend too.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Key id.") var id: Int64
        @Option(help: "Limit in msat.") var msat: Int64?
        @Flag(help: "No limit but the balance.") var none = false

        func run() throws {
            guard (msat != nil) != none else { throw ValidationError("give --msat N or --none") }
            try KeyAdmin(stateDirectory: try common.load().stateDirectory).ledger.accounts.setSpendLimit(accountID: id, msat)
        }
    }

    struct SetModels: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-models", abstract: "Restrict a key to some models (ids or patterns like gpt-4o*), or --any.",
            discussion: "Other models get 403 model_not_allowed. A child key also needs its parent's permission.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Key id.") var id: Int64
        @Argument(help: "Model ids or patterns.") var models: [String] = []
        @Flag(help: "Allow every model.") var any = false

        func run() throws {
            guard models.isEmpty == any else { throw ValidationError("give model ids or --any") }
            try KeyAdmin(stateDirectory: try common.load().stateDirectory).ledger.accounts.setAllowedModels(accountID: id, any ? nil : models)
        }
    }

    struct SetRefundAddress: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-refund-address", abstract: "Record where an expired key's balance should go (Lightning address or LNURL), or --none.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Key id.") var id: Int64
        @Argument(help: "name@domain or lnurl1….") var address: String?
        @Flag(help: "Remove it.") var none = false

        func run() throws {
            guard (address != nil) != none else { throw ValidationError("give an address or --none") }
            try KeyAdmin(stateDirectory: try common.load().stateDirectory).ledger.accounts.setRefundAddress(accountID: id, address)
        }
    }

    struct CreateChild: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-child", abstract: "Create a key that spends a parent key's balance. The key is shown once.",
            discussion: "A child has no balance of its own: its requests draw on the parent, within the child's own limit and models.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Parent key id.") var parent: Int64
        @Option(help: "A label.") var label: String?
        @Option(name: .customLong("limit-msat"), help: "Spending limit in msat.") var limitMsat: Int64?
        @Option(help: "Allowed models, comma-separated.") var models: String?
        @Option(name: .customLong("expires-at"), help: "Unix time.") var expiresAt: Int64?
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let admin = try KeyAdmin(stateDirectory: try common.load().stateDirectory)
            let created = try admin.createChild(parentID: parent, label: label, spendLimitMsat: limitMsat,
                                                allowedModels: models.map { $0.split(separator: ",").map(String.init) }, expiresAt: expiresAt)
            if json { return print(created.serialized) }
            print("api_key: \(created["api_key"]?.stringValue ?? "")")
            print("id: \(created["id"]?.int64Value ?? 0)  parent: \(parent)")
        }
    }

    struct Withdraw: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a key's balance (or part of it) as a cashuB token from the node wallet; prints the token.",
            discussion: "The mint's input fee is taken from the balance. Needs cashu.mints and ecash in the node wallet.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Key id.") var id: Int64
        @Option(name: .customLong("amount-sat"), help: "Sats to send.") var amountSat: Int64?
        @Flag(help: "Everything left after the fee.") var all = false
        @Option(help: "Mint URL (default: the key's own mint, else any trusted mint with enough).") var mint: String?
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            guard (amountSat != nil) != all else { throw ValidationError("give --amount-sat N or --all") }
            let config = try common.load()
            let admin = try KeyAdmin(stateDirectory: config.stateDirectory)
            let result: JSON
            do { result = try admin.withdraw(accountID: id, amountSat: amountSat, mint: mint, cashu: config.cashu) } catch {
                throw Failure(error.message)
            }
            if json { return print(result.serialized) }
            print(result["token"]?.stringValue ?? "")
            FileHandleLite.stderr("\(result["amount_sat"]?.int64Value ?? 0) sat from \(result["mint"]?.stringValue ?? ""), fee \(result["fee_sat"]?.int64Value ?? 0) sat")
        }
    }
}

extension PricingCommand {
    struct Settings: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or change the pricing settings (as on the dashboard's Settings → Pricing).",
            discussion: """
                Stored in <state>/pricing/settings.yaml over the config's pricing: section, with a change note in
                <state>/pricing/changes/. Running workers pick changes up within a second or two.
                """)
        @OptionGroup var common: CommonOptions
        @Option(name: .customLong("min-charge-msat")) var minChargeMsat: Int64?
        @Option(name: .customLong("base-fee-msat")) var baseFeeMsat: Int64?
        @Option(name: .customLong("exchange-fee"), help: "Multiplier for dynamic prices, e.g. 1.005.") var exchangeFee: String?
        @Option(name: .customLong("upstream-fee"), help: "Multiplier for dynamic prices, e.g. 1.05.") var upstreamFee: String?
        @Option(name: .customLong("fixed-prompt-sats-per-1k"), help: "0 (with the completion one) turns fixed per-token pricing off.") var fixedPrompt: String?
        @Option(name: .customLong("fixed-completion-sats-per-1k")) var fixedCompletion: String?
        @Option(name: .customLong("fixed-per-request"), help: "on or off.") var fixedPerRequest: String?
        @Option(name: .customLong("fixed-per-request-sats")) var fixedPerRequestSats: String?

        func run() throws {
            let admin = PricingAdmin(config: try common.load())
            var patch: JSON = [:]
            if let minChargeMsat { patch.set("min_charge_msat", .int(minChargeMsat)) }
            if let baseFeeMsat { patch.set("base_fee_msat", .int(baseFeeMsat)) }
            if let exchangeFee { patch.set("exchange_fee", .string(exchangeFee)) }
            if let upstreamFee { patch.set("upstream_fee", .string(upstreamFee)) }
            var perToken: JSON = [:]
            if let fixedPrompt { perToken.set("prompt_sats_per_1k", .string(fixedPrompt)) }
            if let fixedCompletion { perToken.set("completion_sats_per_1k", .string(fixedCompletion)) }
            if perToken != [:] { patch.set("fixed_per_token", perToken) }
            var perRequest: JSON = [:]
            if let fixedPerRequest {
                guard ["on", "off"].contains(fixedPerRequest) else { throw ValidationError("--fixed-per-request is on or off") }
                perRequest.set("enabled", .bool(fixedPerRequest == "on"))
            }
            if let fixedPerRequestSats { perRequest.set("sats", .string(fixedPerRequestSats)) }
            if perRequest != [:] { patch.set("fixed_per_request", perRequest) }
            do {
                if patch != [:] {
                    let next = try admin.settings().merging(patch)
                    for change in try admin.saveSettings(next) { print("\(change.name): \(change.was) → \(change.now)") }
                }
                print(try admin.settings().json.serialized)
            } catch let error as ConfigError { throw Failure(error.reason) } catch let error as PricingAdminError { throw Failure(error.description) }
        }
    }

    struct SetModel: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-model", abstract: "Set one model's price, within the bounded steps of `pricing apply`.",
            discussion: "USD prices are per 1M tokens, sat prices per 1K tokens. Prints the change note.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Model id or pattern.") var model: String
        @Option(help: "Prompt (input) price.") var prompt: String
        @Option(help: "Completion (output) price.") var completion: String
        @Option(help: "usd or sat.") var currency: String = "usd"
        @Option(help: "Why (goes into the change note).") var reason: String?

        func run() throws {
            guard let unit = ModelPriceChange.Currency(rawValue: currency) else { throw ValidationError("--currency is usd or sat") }
            let change = ModelPriceChange(model: model, currency: unit, prompt: prompt, completion: completion, reason: reason)
            let result: PriceTableUpdate.Result
            do { result = try PricingAdmin(config: try common.load()).setModelPrice(change) } catch let error as PricingAdminError {
                throw Failure(error.description)
            }
            print(result.changeNote.render())
            if !result.refused.isEmpty { throw ExitCode(2) }
        }
    }
}

enum FileHandleLite {
    static func stderr(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}

/// One line from standard input; on a terminal with the echo off.
enum Terminal {
    static func readSecretLine(prompt: String) throws -> String {
        let interactive = isatty(0) == 1
        var saved = termios()
        if interactive {
            FileHandleLite.stderr(prompt)
            tcgetattr(0, &saved)
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSANOW, &quiet)
        }
        defer { if interactive { tcsetattr(0, TCSANOW, &saved) } }
        guard var line = readLine(strippingNewline: true) else { throw Failure("no password on standard input") }
        if line.hasSuffix("\r") { line.removeLast() }
        return line
    }
}
