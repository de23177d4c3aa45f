import SatmeterLedger
import SatmeterSupport

/// The admin side of a worker's housekeeping tick (`Gateway.runWorker`): new prices from the
/// dashboard or the CLI (checked every tick), and once a minute request-log retention, expired
/// admin sessions and login lockouts, and the wallet-vs-owed history the dashboard draws.
/// Every job is idempotent across processes.
public final class AdminHousekeeping {
    let config: SatmeterConfig
    private var lastRun: Int64 = 0
    private var pricingStamp: String

    /// How often the wallet and what users are owed are recorded.
    static let snapshotSeconds: Int64 = 600

    public init(config: SatmeterConfig) {
        self.config = config
        pricingStamp = PricingAdmin(config: config).stamp()
    }

    public func tick(ledger: Ledger, services: GatewayServices, now: Int64) {
        reloadPricing(services)
        guard now - lastRun >= 60 else { return }
        lastRun = now
        do {
            let retention = Int64(config.admin.requestLogRetentionDays) * 86_400
            if retention > 0 {
                let pruned = try ledger.requestLog.pruneRequestLog(olderThan: now - retention)
                try ledger.reports.pruneBalanceHistory(olderThan: now - retention)
                if pruned > 0 { Log.info("request log: dropped \(pruned) record(s) older than \(config.admin.requestLogRetentionDays) days") }
            }
            try ledger.admin.pruneAdminState(now: now)
            try ledger.reports.snapshotBalances(now: now, every: Self.snapshotSeconds)
        } catch {
            Log.warning("admin housekeeping: \(error)")
        }
    }

    /// Installs the pricing files when they were replaced; a broken file keeps the prices in force.
    private func reloadPricing(_ services: GatewayServices) {
        let admin = PricingAdmin(config: config)
        let stamp = admin.stamp()
        guard stamp != pricingStamp else { return }
        pricingStamp = stamp
        do {
            services.install(pricing: try admin.effectiveConfig())
            Log.info("prices reloaded from \(admin.store.directory)")
        } catch {
            Log.error("prices not reloaded, the old ones stay in force: \(error)")
        }
    }
}
