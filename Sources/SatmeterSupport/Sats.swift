/// Display helpers for msat amounts. Display only: arithmetic stays in integer msats.
public enum Sats {
    /// "12", or "12.345" when there are leftover msats.
    public static func display(_ msat: Int64) -> String {
        let sign = msat < 0 ? "-" : ""
        let magnitude = msat.magnitude
        let whole = magnitude / 1000
        let frac = magnitude % 1000
        if frac == 0 { return "\(sign)\(whole)" }
        var fracText = String(frac)
        while fracText.count < 3 { fracText = "0" + fracText }
        while fracText.hasSuffix("0") { fracText.removeLast() }
        return "\(sign)\(whole).\(fracText)"
    }
}
