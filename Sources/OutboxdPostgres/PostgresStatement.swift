/// A SQL statement with `$n` placeholders, prepared once per connection under `name`
/// the first time it runs there (unless `plannedEachRun`).
public struct PostgresStatement: Sendable, Hashable {
    public let name: String
    public let sql: String
    /// Parsed and planned with its values on every run (an unnamed statement) instead of prepared
    /// once. For statements whose best plan depends on a table's current size: a prepared
    /// statement's cached generic plan keeps the size the table had when it was made, so one made
    /// while a table was nearly empty goes on scanning all of it as it grows.
    public let plannedEachRun: Bool

    public init(name: String, plannedEachRun: Bool = false, sql: String) {
        self.name = name
        self.sql = sql
        self.plannedEachRun = plannedEachRun
    }
}
