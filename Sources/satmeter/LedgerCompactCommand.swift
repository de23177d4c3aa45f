import ArgumentParser
import SatmeterGateway
import SatmeterLedger
import SatmeterSupport

extension LedgerCommand {
    /// `satmeter ledger compact`: gives a SQLite ledger made by an older version the page size new
    /// ones get (docs/performance.md), so each paid request writes fewer bytes.
    struct Compact: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rewrite a SQLite ledger with 1 KiB pages (VACUUM); run it with the gateway stopped.",
            discussion: """
                Takes about as long as copying the file and needs that much free space. Refuses, changing nothing,
                while another process has the database open. `ledger audit` runs afterwards; exit 1 if it disagrees.
                """)
        @OptionGroup var common: CommonOptions

        func run() throws {
            let config = try common.load()
            guard config.ledgerURL == nil else { throw ValidationError("compact is for a SQLite ledger; this one is PostgreSQL") }
            let sizes: (before: Int, after: Int)
            do {
                let database = try Database(path: config.databasePath)
                sizes = try database.rewriteWithNewPageSize()
            } catch {
                throw Failure("cannot compact \(config.databasePath): \(error)")
            }
            let audit = try KeyAdmin(config: config).auditReport()
            let report: JSON = [
                "page_size_before": .int(Int64(sizes.before)), "page_size_after": .int(Int64(sizes.after)), "audit": audit,
            ]
            print(report.serialized)
            if audit["consistent"]?.boolValue != true { throw ExitCode(1) }
        }
    }
}
