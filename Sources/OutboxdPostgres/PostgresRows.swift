/// The rows a statement returned, copied out of libpq's result.
public struct PostgresRows: Sendable, Sequence {
    public let columns: [String]
    /// Every cell, row after row (`columns.count` per row): one array for the result, not one per row.
    @usableFromInline let cells: [String?]
    public let count: Int
    /// The row count of the command tag (`UPDATE 3` → 3), for statements without `RETURNING`.
    public let affectedRows: Int

    /// `flatCells`: row after row, `columns.count` cells each.
    public init(columns: [String], flatCells: [String?], affectedRows: Int) {
        precondition(columns.isEmpty ? flatCells.isEmpty : flatCells.count % columns.count == 0, "whole rows only")
        self.columns = columns
        cells = flatCells
        count = columns.isEmpty ? 0 : flatCells.count / columns.count
        self.affectedRows = affectedRows
    }

    public var isEmpty: Bool { count == 0 }
    public var first: PostgresRow? { isEmpty ? nil : self[0] }

    public subscript(index: Int) -> PostgresRow { PostgresRow(columns: columns, cells: cells, start: index * columns.count) }

    public func makeIterator() -> some IteratorProtocol<PostgresRow> {
        (0..<count).lazy.map { self[$0] }.makeIterator()
    }
}

/// One row, with typed access by column name or position. The accessors are `@inlinable`, so each
/// caller's types are specialised (unspecialised, every column of every row looked its type's
/// metadata up: 4% of the relay's CPU).
public struct PostgresRow: Sendable {
    public let columns: [String]
    /// The result's cells; this row's start at `start`.
    @usableFromInline let cells: [String?]
    @usableFromInline let start: Int

    init(columns: [String], cells: [String?], start: Int) {
        self.columns = columns
        self.cells = cells
        self.start = start
    }

    /// The row's values in column order (nil for SQL NULL).
    public var values: ArraySlice<String?> { cells[start..<start + columns.count] }

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
        guard let text = cells[start + index] else { return nil }
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
