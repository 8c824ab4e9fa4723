/// The rows a statement returned, copied out of libpq's result.
public struct PostgresRows: Sendable, Sequence {
    public let columns: [String]
    public let cells: [[String?]]
    /// The row count of the command tag (`UPDATE 3` → 3), for statements without `RETURNING`.
    public let affectedRows: Int

    public init(columns: [String], cells: [[String?]], affectedRows: Int) {
        self.columns = columns
        self.cells = cells
        self.affectedRows = affectedRows
    }

    public var count: Int { cells.count }
    public var isEmpty: Bool { cells.isEmpty }
    public var first: PostgresRow? { cells.first.map { PostgresRow(columns: columns, values: $0) } }

    public subscript(index: Int) -> PostgresRow { PostgresRow(columns: columns, values: cells[index]) }

    public func makeIterator() -> some IteratorProtocol<PostgresRow> {
        cells.lazy.map { PostgresRow(columns: columns, values: $0) }.makeIterator()
    }
}

/// One row, with typed access by column name or position. The accessors are `@inlinable`, so each
/// caller's types are specialised (unspecialised, every column of every row looked its type's
/// metadata up: 4% of the relay's CPU).
public struct PostgresRow: Sendable {
    public let columns: [String]
    public let values: [String?]

    @usableFromInline
    func index(of column: String) throws -> Int {
        guard let index = columns.firstIndex(of: column) else {
            throw PostgresError(kind: .decoding, message: "no column \"\(column)\" in the result")
        }
        return index
    }

    /// The column's value, or nil for SQL NULL. Throws when the text is not a valid `T`.
    @inlinable
    public func decode<T: PostgresDecodable>(_ type: T.Type, at index: Int) throws -> T? {
        guard let text = values[index] else { return nil }
        guard let value = T(postgresText: text) else {
            throw PostgresError(kind: .decoding, message: "column \"\(columns[index])\" is not a valid \(T.self)")
        }
        return value
    }

    @inlinable
    public func decode<T: PostgresDecodable>(_ type: T.Type, _ column: String) throws -> T? {
        try decode(type, at: index(of: column))
    }

    /// The column's value; throws for SQL NULL.
    @inlinable
    public func require<T: PostgresDecodable>(_ type: T.Type, _ column: String) throws -> T {
        guard let value = try decode(type, column) else {
            throw PostgresError(kind: .decoding, message: "column \"\(column)\" is NULL")
        }
        return value
    }

    @inlinable
    public func require<T: PostgresDecodable>(_ type: T.Type, at index: Int) throws -> T {
        guard let value = try decode(type, at: index) else {
            throw PostgresError(kind: .decoding, message: "column \"\(columns[index])\" is NULL")
        }
        return value
    }
}
