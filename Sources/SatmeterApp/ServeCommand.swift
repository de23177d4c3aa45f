import Glibc
import SatmeterGateway
import SatmeterLedger
import SatmeterPricing
import SatmeterSupport
import SatmeterUpstream
import SatmeterWallet

/// Runs the worker pool: one process with N threads, or a supervisor that starts several such
/// processes on one shared socket and restarts any that dies.
public enum Gateway {
    public static func serve(config: SatmeterConfig) throws(GatewayStartError) -> Never {
        FastCGIServer.blockStopSignals()
        do { try StateDirectory.prepare(config.stateDirectory) } catch { throw .state("\(error)") }
        // Open (and migrate) once before any thread, so a bad database stops the start, not a request.
        let ledger: Ledger
        do { ledger = try Ledger(path: config.databasePath) } catch { throw .state("\(error)") }
        sweepAbandoned(ledger, timeout: config.reservationTimeoutSeconds)
        do { try AdminPassword.bootstrapFromEnvironment(ledger: ledger) } catch { throw .state("\(error)") }
        let pricing: PricingConfig
        do { pricing = try PricingAdmin(config: config).effectiveConfig() } catch { throw .state("price table: \(error)") }

        FastCGIServer.initializeLibrary()
        CurlSession.globalInit()
        let address: FastCGIListenAddress = FastCGIListenAddress.systemdSocketAvailable ? .inherited(fd: 3) : config.listen
        let fd: Int32
        do { fd = try FastCGIListener.open(address, mode: config.socketMode) } catch { throw .listen("\(error)") }

        // Workers are started with `--processes 1`, so only the first process supervises.
        if config.processes > 1 { Supervisor(listenFD: fd, config: config).run() }
        runWorker(listenFD: fd, config: config, pricing: pricing, ledger: ledger, address: address)
    }

    /// One worker process: threads on the socket until SIGTERM, then drain and exit.
    static func runWorker(listenFD: Int32, config: SatmeterConfig, pricing: PricingConfig, ledger: Ledger, address: FastCGIListenAddress) -> Never {
        let services = GatewayServices(config: config, pricing: pricing, ledger: ledger)
        var lastRefresh: (btc: Int64, catalog: Int64) = (0, 0)
        services.refreshPrices(now: Clock.now(), last: &lastRefresh)
        // Housekeeping has its own connection and session: never a worker thread's.
        let housekeeping = GatewayHandler(services: services)
        Log.info("serving on \(address) with \(config.threadsPerProcess) threads, upstream \(config.upstream.baseURL)")
        let server = FastCGIServer(listenFD: listenFD, threadCount: config.threadsPerProcess) {
            GatewayHandler(services: services)
        }
        var lastSweep = Clock.now()
        var lastHeartbeat: Int64 = 0
        let sweepInterval = min(30, max(1, config.reservationTimeoutSeconds / 2))
        var lastPayout = Clock.now()
        let checkpointer = try? Database(path: config.databasePath)
        let admin = AdminHousekeeping(config: config)
        server.run {
            let now = Clock.now()
            services.requestLog.flush(into: ledger)
            checkpointer?.checkpoint()
            services.refreshPrices(now: now, last: &lastRefresh)
            admin.tick(ledger: ledger, services: services, now: now)
            if now - lastHeartbeat >= max(1, config.reservationTimeoutSeconds / 3) {
                // This process is alive: its streams keep their reservations however long they run.
                lastHeartbeat = now
                do { try ledger.renewReservations(owner: services.owner, now: now) } catch { Log.error("renewing reservations failed: \(error)") }
            }
            if now - lastSweep >= sweepInterval {
                lastSweep = now
                sweepAbandoned(ledger, timeout: config.reservationTimeoutSeconds)
                if config.cashu.enabled, let wallet = try? housekeeping.wallet() {
                    wallet.recoverPending()
                    refundExpiredKeys(ledger: ledger, wallet: wallet, owner: services.owner)
                }
            }
            if let address = config.cashu.receiveLightningAddress, now - lastPayout >= config.cashu.payoutIntervalSeconds {
                lastPayout = now
                payOut(to: address, config: config, ledger: ledger, handler: housekeeping)
            }
        }
        services.requestLog.flush(into: ledger)
        Log.info("stopped")
        exit(0)
    }

    /// One process at a time pays out earnings (a lease in the database).
    static func payOut(to address: String, config: SatmeterConfig, ledger: Ledger, handler: GatewayHandler) {
        guard (try? ledger.claimLease("payout", owner: handler.services.owner, seconds: config.cashu.payoutIntervalSeconds)) == true,
              let wallet = try? handler.wallet() else { return }
        do throws(PayoutError) { _ = try wallet.payOutEarnings(to: address, thresholdSat: config.cashu.payoutThresholdSat) } catch {
            if error != .nothingToPay { Log.warning("payout: \(error)") }
        }
    }

    /// Expired keys with a refund address get what is left sent there (one process at a time).
    static func refundExpiredKeys(ledger: Ledger, wallet: NodeWallet, owner: String) {
        guard let expired = try? ledger.expiredKeysWithBalance(now: Clock.now()),
              expired.contains(where: { $0.refundAddress != nil && $0.reservedMsat == 0 && !$0.disabled }),
              (try? ledger.claimLease("refunds", owner: owner, seconds: 60)) == true else { return }
        for account in expired where account.refundAddress != nil && account.reservedMsat == 0 && !account.disabled {
            do throws(PayoutError) { _ = try wallet.refundToLightning(account) } catch {
                if error != .nothingToPay { Log.warning("refund of expired key \(account.id): \(error)") }
            }
        }
    }

    /// Releases reservations whose worker process is gone, or whose heartbeat is older than the timeout.
    static func sweepAbandoned(_ ledger: Ledger, timeout: Int64) {
        do {
            let owners = Set(try ledger.heldReservations().map(\.owner)).filter { !ProcessIdentity.isAlive($0) }
            var released = 0
            for owner in owners { released += try ledger.releaseAbandoned(owner: owner) }
            released += try ledger.releaseStale(heartbeatBefore: Clock.now() - timeout)
            if released > 0 { Log.warning("released \(released) abandoned reservation(s)") }
        } catch {
            Log.error("sweeping abandoned reservations failed: \(error)")
        }
    }
}

public enum GatewayStartError: Error, CustomStringConvertible {
    case state(String)
    case listen(String)

    public var description: String {
        switch self {
        case let .state(why): "state directory: \(why)"
        case let .listen(why): why
        }
    }
}
