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
        if Supervisor.shouldSupervise(config) { try superviseWorkers(config: config) }
        // Open (and migrate) once before any thread, so a bad database stops the start, not a request.
        let ledger: Ledger
        do { ledger = try Ledger(path: config.databaseLocation, poolSize: config.ledgerPoolSize) } catch { throw .state("\(error)") }
        Housekeeping.sweepAbandoned(ledger, timeout: config.reservationTimeoutSeconds)
        do { try AdminPassword.bootstrapFromEnvironment(ledger: ledger) } catch { throw .state("\(error)") }
        let pricing: PricingConfig
        do { pricing = try PricingAdmin(config: config).effectiveConfig() } catch { throw .state("price table: \(error)") }

        FastCGIServer.initializeLibrary()
        CurlSession.globalInit()
        let address: FastCGIListenAddress = FastCGIListenAddress.systemdSocketAvailable ? .inherited(fd: 3) : config.listen
        let fd: Int32
        do { fd = try FastCGIListener.open(address, mode: config.socketMode) } catch { throw .listen("\(error)") }

        runWorker(listenFD: fd, config: config, pricing: pricing, ledger: ledger, address: address)
    }

    /// One worker process: threads on the socket until SIGTERM, then drain and exit.
    static func runWorker(listenFD: Int32, config: SatmeterConfig, pricing: PricingConfig, ledger: Ledger, address: FastCGIListenAddress) -> Never {
        ledger.lendReadConnections()
        let services = GatewayServices(config: config, pricing: pricing, ledger: ledger)
        Log.info("serving on \(address) with \(config.threadsPerProcess) threads, upstream \(config.upstream.baseURL)")
        let server = FastCGIServer(listenFD: listenFD, threadCount: config.threadsPerProcess) {
            GatewayHandler(services: services)
        }
        var housekeeping = Housekeeping(config: config, services: services, ledger: ledger)
        server.run { housekeeping.tick(now: Clock.now()) }
        services.requestLog.flush(into: ledger)
        Log.info("stopped")
        exit(0)
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
