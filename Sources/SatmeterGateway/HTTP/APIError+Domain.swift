import SatmeterLedger
import SatmeterPricing
import SatmeterSupport
import SatmeterWallet

// Every domain error's HTTP meaning, in one place: the layers below throw their own errors and
// know nothing of HTTP; the gateway turns them into `APIError` here.

extension PricingError {
    /// The client-facing error the request path should send.
    package var apiError: APIError {
        switch self {
        case let .unsupportedModel(model): .unsupportedModel(model)
        case let .deniedModel(model): .invalidRequest("Model \(model) is deprecated and no longer served.")
        case .missingModel: .invalidRequest("The request body must name a model.")
        case let .priceUnavailable(why): .priceUnavailable(why)
        }
    }
}

extension WalletError {
    package var apiError: APIError {
        switch self {
        case let .untrustedMint(mint): .untrustedMint(mint)
        case let .unsupportedUnit(unit): .invalidToken("unit '\(unit)' is not accepted (only sat)")
        case let .invalidToken(why): .invalidToken(why)
        case .alreadySpent: .tokenAlreadySpent
        case .inFlight: .conflict("This token is being processed; retry in a moment.")
        case let .valueTooLow(value, fee): .invalidToken("worth \(value) sat, less than the mint's fee of \(fee) sat")
        case let .mintUnavailable(why): .mintUnavailable(why)
        case let .mintRejected(why): .mintError(why)
        case let .insufficientBalance(available, required): .insufficientBalance(availableMsat: available, requiredMsat: required)
        case .insufficientFunds: .serviceUnavailable("The node's wallet cannot cover this amount at that mint right now.")
        case .invalidAmount: .invalidRequest("amount must be a positive whole number of sats")
        case let .storage(why): .internalError(why)
        case .retry: .serviceUnavailable("The wallet is busy; try again.")
        }
    }
}

extension PricingAdminError {
    package var apiError: APIError {
        switch self {
        case let .invalid(why): .invalidRequest(why)
        case let .storage(why): .internalError(why)
        }
    }
}

extension LedgerError {
    package var apiError: APIError {
        switch self {
        case let .insufficientBalance(available, required): .insufficientBalance(availableMsat: available, requiredMsat: required)
        case .unknownAccount: .invalidAPIKey
        case .invalidAmount: .invalidRequest("invalid amount")
        case .duplicateOperation: .conflict("This token is already being processed.")
        case .unknownOperation, .proofsUnavailable: .serviceUnavailable("The wallet is busy; try again.")
        case let .spendingLimitReached(limit): .spendingLimitReached(limitMsat: limit)
        case let .modelNotAllowed(model): .modelNotAllowed(model)
        case .keyDisabled: .keyDisabled
        case .keyExpired: .keyExpired
        case let .invalidKeySetting(why): .invalidRequest(why)
        case let .rateLimited(refusal): .rateLimited(refusal)
        case let .storage(db):
            switch db {
            case .unwritable: .serviceUnavailable("The balance database is not writable; nothing was charged.")
            case .busy: .serviceUnavailable("The balance database is busy; nothing was charged. Try again.")
            default: .internalError("balance database error")
            }
        }
    }
}

extension HTTPFetchError {
    /// An upstream call that failed before an answer: the client is not charged.
    package var apiError: APIError {
        switch self {
        case .timeout: .upstreamTimeout
        case let .unreachable(why): .upstreamFailed("upstream unreachable (\(why))")
        case let .transport(why): .upstreamFailed(why)
        case .aborted: .upstreamFailed("aborted")
        }
    }
}
