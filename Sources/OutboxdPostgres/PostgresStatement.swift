/// A SQL statement with `$n` placeholders, prepared once per connection under `name`
/// the first time it runs there.
public struct PostgresStatement: Sendable, Hashable {
    public let name: String
    public let sql: String

    public init(name: String, sql: String) {
        self.name = name
        self.sql = sql
    }
}
