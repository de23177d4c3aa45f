package enum PayoutError: Error, Equatable, CustomStringConvertible {
    case lnurl(String)
    case mint(String)
    case nothingToPay

    package var description: String {
        switch self {
        case let .lnurl(why): "LNURL: \(why)"
        case let .mint(why): "mint: \(why)"
        case .nothingToPay: "earnings below the payout threshold"
        }
    }
}
