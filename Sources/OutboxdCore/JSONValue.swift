/// A JSON document value.
///
/// Numbers keep their literal text so that no precision is lost between
/// parsing and writing; use ``doubleValue`` or ``intValue`` to convert.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The exact literal text of a JSON number, e.g. `"12"` or `"-0.5e3"`.
    /// ``JSONWriter`` writes it verbatim, so it must be a valid JSON number
    /// (see ``isValidNumberLiteral(_:)``); prefer ``int(_:)`` or ``double(_:)``.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}
