import SatmeterGateway
import SatmeterLedger
import SatmeterSupport
import SatmeterWallet

/// What a worker process does between requests, on the FastCGI server's housekeeping thread (about
/// once a second): write the buffered request log, refresh prices, run the
/// admin's chores, renew this process's reservations (their heartbeat), and on slower timers sweep abandoned reservations, finish pending mint
/// operations, refund expired keys and pay out earnings (those two one process at a time, by lease).
struct Housekeeping {
    let config: SatmeterConfig
    let services: GatewayServices
    let ledger: Ledger
    /// Housekeeping has its own HTTP session and wallet: never a worker thread's.
    private let handler: GatewayHandler
    /// Checkpoints on a thread and connection of their own: a slow fsync never holds a request.
    private let checkpointer: WALCheckpointer?
    private let admin: AdminHousekeeping
    private var lastRefresh: (btc: Int64, catalog: Int64) = (0, 0)
    private var lastSweep: Int64
    private var lastPayout: Int64
    private var lastHeartbeat: Int64 = 0
    /// Every 30 s, or half the reservation timeout if that is shorter.
    private var sweepInterval: Int64 { min(30, max(1, config.reservationTimeoutSeconds / 2)) }

    init(config: SatmeterConfig, services: GatewayServices, ledger: Ledger, now: Int64 = Clock.now()) {
        self.config = config
        self.services = services
        self.ledger = ledger
        handler = GatewayHandler(services: services)
        checkpointer = WALCheckpointer.start(config: config, ledger: ledger)
        admin = AdminHousekeeping(config: config)
        lastSweep = now
        lastPayout = now
        services.refreshPrices(now: now, last: &lastRefresh)
    }

    /// Its writes yield to requests' (`Ledger.writingInBackground`): no client waits for them.
    mutating func tick(now: Int64) {
        ledger.writingInBackground { tickInBackground(now: now) }
    }

    private mutating func tickInBackground(now: Int64) {
        services.requestLog.flush(into: ledger)
        services.refreshPrices(now: now, last: &lastRefresh)
        admin.tick(ledger: ledger, services: services, now: now)
        if now - lastHeartbeat >= max(1, config.reservationTimeoutSeconds / 3) {
            // This process is alive: its streams keep their reservations however long they run.
            lastHeartbeat = now
            do { try ledger.reservations.renewReservations(owner: services.owner, now: now) } catch {
                Log.error("renewing reservations failed: \(error)")
            }
        }
        if now - lastSweep >= sweepInterval {
            lastSweep = now
            Self.sweepAbandoned(ledger, timeout: config.reservationTimeoutSeconds)
            if config.cashu.enabled, let wallet = try? handler.wallet() {
                wallet.recoverPending()
                wallet.settleOpenInvoices()  // Lightning top-ups paid while nobody polled
                refundExpiredKeys(wallet: wallet)
            }
        }
        if let address = config.cashu.receiveLightningAddress, now - lastPayout >= config.cashu.payoutIntervalSeconds {
            lastPayout = now
            payOut(to: address)
        }
    }

    /// One process at a time pays out earnings (a lease in the database).
    private func payOut(to address: String) {
        guard (try? ledger.wallet.claimLease("payout", owner: services.owner, seconds: config.cashu.payoutIntervalSeconds)) == true,
              let wallet = try? handler.wallet() else { return }
        do throws(PayoutError) { _ = try wallet.payOutEarnings(to: address, thresholdSat: config.cashu.payoutThresholdSat) } catch {
            if error != .nothingToPay { Log.warning("payout: \(error)") }
        }
    }

    /// Expired keys with a refund address get what is left sent there (one process at a time).
    private func refundExpiredKeys(wallet: NodeWallet) {
        guard let expired = try? ledger.accounts.expiredKeysWithBalance(now: Clock.now()),
              expired.contains(where: { $0.refundAddress != nil && $0.reservedMsat == 0 && !$0.disabled }),
              (try? ledger.wallet.claimLease("refunds", owner: services.owner, seconds: 60)) == true else { return }
        for account in expired where account.refundAddress != nil && account.reservedMsat == 0 && !account.disabled {
            do throws(PayoutError) { _ = try wallet.refundToLightning(account) } catch {
                if error != .nothingToPay { Log.warning("refund of expired key \(account.id): \(error)") }
            }
        }
    }

    /// Releases reservations whose worker process is gone, or whose heartbeat is older than the timeout.
    static func sweepAbandoned(_ ledger: Ledger, timeout: Int64) {
        do {
            let owners = Set(try ledger.reservations.heldReservations().map(\.owner)).filter { !ProcessIdentity.isAlive($0) }
            var released = 0
            for owner in owners { released += try ledger.reservations.releaseAbandoned(owner: owner) }
            released += try ledger.reservations.releaseStale(heartbeatBefore: Clock.now() - timeout)
            if released > 0 { Log.warning("released \(released) abandoned reservation(s)") }
        } catch {
            Log.error("sweeping abandoned reservations failed: \(error)")
        }
    }
}
