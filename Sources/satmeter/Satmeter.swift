import ArgumentParser
import Glibc
import SatmeterApp
import SatmeterGateway
import SatmeterPricing
import SatmeterSupport
import SatmeterUpstream
import SatmeterWallet

@main
struct Satmeter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "satmeter",
        abstract: "A pay-per-use gateway for OpenAI-compatible LLM APIs, paid in Bitcoin ecash (Cashu).",
        discussion: """
            nginx terminates HTTP and passes /v1/ to this FastCGI worker pool, which authenticates,
            prices, reserves the balance, calls the upstream and settles the exact cost in msats.
            Run `satmeter serve` under systemd (see systemd/) and include nginx/satmeter-locations.conf.
            """,
        subcommands: [Serve.self, Keys.self, PricingCommand.self, LedgerCommand.self, WalletCommand.self, ConfigCommand.self,
                      AdminCommand.self, ReportCommand.self, RequestsCommand.self])
}

struct WalletCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wallet", abstract: "The node's ecash.", subcommands: [Audit.self])

    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every unspent proof at its mint (NUT-07) and that the wallet backs the books; exit 1 if not.",
            discussion: "wallet == owed + earned - granted - paid out, in msat; no pending mint operations.")
        @OptionGroup var common: CommonOptions

        func run() throws {
            let config = try common.load()
            let admin = try KeyAdmin(config: config)
            let report = try WalletAudit(ledger: admin.ledger, config: config.cashu, http: CurlSession()).run()
            print(report.serialized)
            if report["consistent"]?.boolValue != true { throw ExitCode(1) }
        }
    }
}

struct PricingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pricing", abstract: "Predict and change prices (see docs/pricing.md).",
        subcommands: [Explain.self, Apply.self, Settings.self, SetModel.self, Propose.self, Canary.self, Promote.self])

    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show how a request would be priced: mode, source, every factor, and the final msats.")
        @OptionGroup var common: CommonOptions
        @Option(help: "Model id as the client sends it.") var model: String
        @Option(name: .customLong("prompt-tokens"), help: "Prompt tokens.") var promptTokens: Int = 0
        @Option(name: .customLong("completion-tokens"), help: "Completion tokens.") var completionTokens: Int = 0
        @Option(name: .customLong("header"), help: "A request header as name=value (for match rules); repeatable.") var headers: [String] = []
        @Option(help: "Route, e.g. \"POST /v1/embeddings\".") var route: String = "POST /v1/chat/completions"

        func run() throws {
            guard promptTokens >= 0, completionTokens >= 0 else { throw ValidationError("token counts must not be negative") }
            var parsed: [String: String] = [:]
            for header in headers {
                guard let eq = header.firstIndex(of: "=") else { throw ValidationError("--header takes name=value") }
                parsed[String(header[..<eq])] = String(header[header.index(after: eq)...])
            }
            let engine = try PricingAdmin(config: try common.load()).engine()
            do {
                print(try engine.explain(model: model, promptTokens: promptTokens, completionTokens: completionTokens, headers: parsed, route: route).render())
            } catch {
                throw Failure(error.apiError.message)
            }
        }
    }

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply a proposed price table within bounded steps; report what was refused; archive a change note.",
            discussion: "Steps are limited by pricing.update_bounds (default +15% / -10% per apply) and family floors and ceilings.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "A price table YAML file (the format of `pricing/current.yaml` in the state directory).") var file: String
        @Option(help: "Roll it out to one cohort first: requests with this header (HEADER=VALUE); then `pricing promote`.") var canary: String?
        @Option(help: "With --canary: the route.") var route = "POST /v1/chat/completions"

        func run() throws {
            guard let text = TextFile.read(file) else { throw ValidationError("cannot read \(file)") }
            if let canary { return try PricingCommand.applyCanary(canary, file: file, text: text, route: route, common: common) }
            let result = try PricingAdmin(config: try common.load()).apply(proposalYAML: text, file: file)
            print(result.changeNote.render())
            if !result.refused.isEmpty { throw ExitCode(2) }
        }
    }
}

struct LedgerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger", abstract: "Check the books; move them to PostgreSQL.", subcommands: [Audit.self, Migrate.self, Compact.self])

    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-derive every balance from the ledger rows; exit 1 if any account disagrees.",
            discussion: "Prints totals (owed, reserved, earned, deposited, granted, withdrawn, overrun) in msat.")
        @OptionGroup var common: CommonOptions

        func run() throws {
            let admin = try KeyAdmin(config: try common.load())
            let report = try admin.auditReport()
            print(report.serialized)
            if report["consistent"]?.boolValue != true { throw ExitCode(1) }
        }
    }
}

/// Options every command that touches the database or configuration shares.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "YAML configuration file (default: the embedded configuration; env SATMETER_CONFIG).")
    var config: String?

    @Option(name: .customLong("state-dir"), help: "Directory for the database and wallet (env SATMETER_STATE_DIR).")
    var stateDir: String?

    func load() throws -> SatmeterConfig {
        var environment = ProcessInfoLite.environment
        if let stateDir { environment["SATMETER_STATE_DIR"] = stateDir }
        do {
            return try SatmeterConfig.load(path: config ?? environment["SATMETER_CONFIG"], environment: environment)
        } catch {
            throw Failure("configuration error: \(error)")
        }
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the FastCGI worker pool until SIGTERM, then finish in-flight requests and exit.",
        discussion: """
            Listens on --listen, or on the socket systemd passes (LISTEN_FDS). Upstream: SATMETER_UPSTREAM_URL
            and SATMETER_UPSTREAM_API_KEY. A fixed BTC price for testing: SATMETER_BTC_USD.
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "unix:/path, 127.0.0.1:PORT, fd:N or systemd.")
    var listen: String?

    @Option(help: "Worker processes, run by a supervisor that replaces any that dies at once.")
    var processes: Int?

    @Flag(name: .customLong("no-supervisor"), help: "Serve in this one process, without a supervisor (SATMETER_NO_SUPERVISOR=1).")
    var noSupervisor = false

    @Option(help: "Threads per process: the number of concurrent requests, streams included.")
    var threads: Int?

    func run() throws {
        var config = try common.load()
        if let listen {
            guard let address = FastCGIListenAddress.parse(listen) else { throw ValidationError("--listen: unix:/path, 127.0.0.1:PORT, fd:N or systemd") }
            config.listen = address
        }
        if let processes {
            guard (1...64).contains(processes) else { throw ValidationError("--processes must be 1...64") }
            config.processes = processes
        }
        if noSupervisor { setenv("SATMETER_NO_SUPERVISOR", "1", 1) }
        if let threads {
            guard (1...4096).contains(threads) else { throw ValidationError("--threads must be 1...4096") }
            config.threadsPerProcess = threads
        }
        do {
            try Gateway.serve(config: config)
        } catch {
            throw Failure("cannot start: \(error)")
        }
    }
}

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and inspect API keys.",
        subcommands: [Create.self, List.self, Show.self, Disable.self,
                      SetExpiry.self, SetLimit.self, SetModels.self, SetRefundAddress.self, SetRateLimits.self, CreateChild.self, Withdraw.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API key with a starting balance. The key is shown once.")
        @OptionGroup var common: CommonOptions
        @Option(name: .customLong("balance-msat"), help: "Starting balance in millisatoshis.") var balanceMsat: Int64 = 0
        @Option(help: "A label to recognise the key by.") var label: String?
        @Option(name: .customLong("expires-at"), help: "Unix time after which the key stops working.") var expiresAt: Int64?
        @Flag(name: .customLong("withdrawable-grant"),
              help: "Let the holder withdraw the granted balance as ecash (paid from the node's wallet; `wallet audit` then checks it is covered).")
        var withdrawableGrant = false
        @OptionGroup var limits: RateLimitOptions
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            guard balanceMsat >= 0 else { throw ValidationError("--balance-msat must not be negative") }
            let admin = try KeyAdmin(config: try common.load())
            var created = try admin.create(balanceMsat: balanceMsat, label: label, expiresAt: expiresAt, limits: try limits.forNewKey())
            if withdrawableGrant, let id = created["id"]?.int64Value {
                try admin.ledger.accounts.setGrantWithdrawable(accountID: id, true)
                created.set("withdrawable_grant", true)
            }
            if json {
                print(created.serialized)
            } else {
                print("api_key: \(created["api_key"]?.stringValue ?? "")")
                print("id: \(created["id"]?.int64Value ?? 0)  balance: \(created["balance_msat"]?.int64Value ?? 0) msat")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (hints only; keys are stored hashed).")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let admin = try KeyAdmin(config: try common.load())
            let keys = try admin.list()
            if json {
                print(JSON.array(keys).serialized)
                return
            }
            print("id\thint\tbalance_msat\treserved_msat\tspent_msat\trequests\tdisabled\tlabel")
            for key in keys {
                let fields = ["id", "hint", "balance_msat", "reserved_msat", "total_spent_msat", "requests", "disabled", "label"]
                print(fields.map { field in
                    switch key[field] {
                    case let .string(s)?: s
                    case let .number(n)?: n
                    case let .bool(b)?: b ? "yes" : "no"
                    default: "-"
                    }
                }.joined(separator: "\t"))
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one key, by id or by the key itself.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Key id, or the sk-… key.") var key: String

        func run() throws {
            let admin = try KeyAdmin(config: try common.load())
            guard let account = try admin.find(key) else { throw Failure("no such key") }
            print(KeyAdmin.describe(account).serialized)
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable (or with --enable, re-enable) a key by id.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Key id.") var id: Int64
        @Flag(help: "Enable instead.") var enable = false

        func run() throws {
            let admin = try KeyAdmin(config: try common.load())
            try admin.ledger.accounts.setDisabled(accountID: id, !enable)
        }
    }
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Check or print the configuration.", subcommands: [Check.self, Default.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Load the configuration and report the first error with file and line.")
        @OptionGroup var common: CommonOptions
        func run() throws {
            _ = try common.load()
            print("configuration ok")
        }
    }

    struct Default: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the embedded default configuration.")
        func run() { print(SatmeterConfig.defaultYAML) }
    }
}

/// A runtime failure: printed as "Error: …" without the usage text meant for bad arguments.
struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The process environment as a dictionary, without Foundation.
enum ProcessInfoLite {
    static var environment: [String: String] {
        var result: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") { result[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
            cursor += 1
        }
        return result
    }
}
