import ArgumentParser
import Glibc
import SatmeterGateway
import SatmeterLedger
import SatmeterSupport

extension LedgerCommand {
    /// `satmeter ledger migrate --from sqlite:PATH --to postgres://…` (docs/postgres.md).
    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a SQLite ledger (keys, balances, ledger rows, proofs, mint operations, request log) into an empty PostgreSQL database.",
            discussion: """
                The SQLite file is write-locked during the copy (its gateway's writes wait), then `ledger audit` runs on
                both sides and their totals must agree; exit 1 otherwise. Stop the SQLite gateway before pointing hosts
                at PostgreSQL, or anything it writes after the copy stays behind.
                """)
        /// Accepted like every command's (scripts pass them), but the two ledgers are named explicitly.
        @OptionGroup var common: CommonOptions
        @Option(help: "The SQLite ledger: sqlite:/var/lib/satmeter/satmeter.db (or a plain path).") var from: String
        @Option(help: "The PostgreSQL URL: postgres://user@host:port/db.") var to: String

        func run() throws {
            let path = from.hasPrefix("sqlite:") ? String(from.dropFirst("sqlite:".count)) : from
            guard !Database.isPostgresURL(path) else { throw ValidationError("--from must be a SQLite file") }
            guard Database.isPostgresURL(to) else { throw ValidationError("--to must be a postgres:// URL") }
            guard access(path, R_OK) == 0 else { throw ValidationError("cannot read \(path)") }
            let source = try Ledger(path: path)
            let destination = try Ledger(path: to)
            let copied = try LedgerMigration.copy(from: source, to: destination)
            let before = try KeyAdmin(ledger: source).auditReport()
            let after = try KeyAdmin(ledger: destination).auditReport()
            let agree = before.serialized == after.serialized && before["consistent"]?.boolValue == true
            let report: JSON = [
                "copied": .object(copied.map { ($0.table, JSON.int(Int64($0.rows))) }),
                "source_audit": before,
                "destination_audit": after,
                "consistent": .bool(agree),
            ]
            print(report.serialized)
            if !agree { throw ExitCode(1) }
        }
    }
}
