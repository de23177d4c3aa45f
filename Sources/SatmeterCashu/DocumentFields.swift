import SatmeterSupport

/// A field of a decoded JSON or CBOR document that is absent or has the wrong shape.
/// Each format maps it into its own public error.
enum FieldError: Error, Equatable {
    case missing(String)
    case invalid(String, String)
}

/// A public error that can name a missing or malformed field (its enum cases satisfy these).
protocol FieldReporting: Error {
    static func missingField(_ field: String) -> Self
    static func invalidField(_ field: String, _ why: String) -> Self
}

extension FieldReporting {
    /// Runs decoding code that throws `FieldError`s or `Self`s and lets only `Self`s out,
    /// so public entry points keep a single typed error.
    static func reporting<T>(_ body: () throws -> T) throws(Self) -> T {
        do {
            return try body()
        } catch let error as Self {
            throw error
        } catch let error as FieldError {
            switch error {
            case let .missing(field): throw .missingField(field)
            case let .invalid(field, why): throw .invalidField(field, why)
            }
        } catch {
            throw .invalidField("document", "could not be read (\(type(of: error)))")
        }
    }
}

/// What the field reader needs from a decoded document value.
protocol FieldValue: Sendable {
    /// Members of an object or map, text keys only (other keys are not part of any Cashu format).
    var fieldMembers: [(String, Self)]? { get }
    var fieldItems: [Self]? { get }
    var fieldText: String? { get }
    var fieldUnsigned: UInt64? { get }
    var fieldBool: Bool? { get }
    var isNullValue: Bool { get }
}

/// Reads an object (JSON) or map (CBOR) the way Cashu formats want it: unknown keys are ignored
/// (forward compatibility), null (and CBOR undefined) counts as absent, and errors name the field by its path, like `t[0].p[1].c`.
struct DocumentFields<Value: FieldValue> {
    private let members: [String: Value]
    let path: String

    init(_ value: Value, path: String) throws(FieldError) {
        guard let pairs = value.fieldMembers else { throw .invalid(path.isEmpty ? "top level" : path, "must be an object") }
        var members: [String: Value] = [:]
        for (key, member) in pairs where !member.isNullValue { members[key] = member }
        self.members = members
        self.path = path
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private func optional<T>(_ key: String, _ kind: String, _ extract: (Value) -> T?) throws(FieldError) -> T? {
        guard let value = members[key] else { return nil }
        guard let result = extract(value) else { throw .invalid(name(key), "must be \(kind)") }
        return result
    }

    private func required<T>(_ key: String, _ kind: String, _ extract: (Value) -> T?) throws(FieldError) -> T {
        guard let result = try optional(key, kind, extract) else { throw .missing(name(key)) }
        return result
    }

    func text(_ key: String) throws(FieldError) -> String { try required(key, "a string", \.fieldText) }
    func optionalText(_ key: String) throws(FieldError) -> String? { try optional(key, "a string", \.fieldText) }
    func unsigned(_ key: String) throws(FieldError) -> UInt64 { try required(key, "a whole number", \.fieldUnsigned) }
    func optionalUnsigned(_ key: String) throws(FieldError) -> UInt64? { try optional(key, "a whole number", \.fieldUnsigned) }
    func optionalBool(_ key: String) throws(FieldError) -> Bool? { try optional(key, "true or false", \.fieldBool) }
    func array(_ key: String) throws(FieldError) -> [Value] { try required(key, "an array", \.fieldItems) }
    func optionalArray(_ key: String) throws(FieldError) -> [Value]? { try optional(key, "an array", \.fieldItems) }

    func object(_ key: String) throws(FieldError) -> DocumentFields {
        guard let value = members[key] else { throw .missing(name(key)) }
        return try DocumentFields(value, path: name(key))
    }

    func optionalObject(_ key: String) throws(FieldError) -> DocumentFields? {
        guard let value = members[key] else { return nil }
        return try DocumentFields(value, path: name(key))
    }

    /// An array of strings, e.g. a list of mint URLs.
    func optionalTextArray(_ key: String) throws(FieldError) -> [String]? {
        guard let items = try optionalArray(key) else { return nil }
        var texts: [String] = []
        for (i, item) in items.enumerated() {
            guard let text = item.fieldText else { throw .invalid("\(name(key))[\(i)]", "must be a string") }
            texts.append(text)
        }
        return texts
    }

    /// An array of arrays of strings: the tag lists of NUT-10 and NUT-18.
    func optionalTags(_ key: String) throws(FieldError) -> [[String]]? {
        guard let items = try optionalArray(key) else { return nil }
        var tags: [[String]] = []
        for (i, item) in items.enumerated() {
            guard let parts = item.fieldItems else { throw .invalid("\(name(key))[\(i)]", "must be an array") }
            var tag: [String] = []
            for part in parts {
                guard let text = part.fieldText else { throw .invalid("\(name(key))[\(i)]", "must hold strings only") }
                tag.append(text)
            }
            tags.append(tag)
        }
        return tags
    }
}

extension DocumentFields where Value == CBOR {
    func bytes(_ key: String) throws(FieldError) -> [UInt8] { try required(key, "a byte string", \.bytesValue) }
}

extension CBOR: FieldValue {
    var fieldMembers: [(String, CBOR)]? {
        mapValue?.compactMap { key, value in key.textValue.map { ($0, value) } }
    }
    var fieldItems: [CBOR]? { arrayValue }
    var fieldText: String? { textValue }
    var fieldUnsigned: UInt64? { unsignedValue }
    var fieldBool: Bool? { boolValue }
    var isNullValue: Bool { self == .null || self == .undefined }
}

extension JSON: FieldValue {
    var fieldMembers: [(String, JSON)]? { objectValue }
    var fieldItems: [JSON]? { arrayValue }
    var fieldText: String? { stringValue }
    /// Plain digits only: "1.0" or "1e3" are refused rather than rounded.
    var fieldUnsigned: UInt64? {
        guard case let .number(text) = self else { return nil }
        return UInt64(text)
    }
    var fieldBool: Bool? { boolValue }
    var isNullValue: Bool { self == .null }
}
