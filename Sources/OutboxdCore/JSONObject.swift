/// A JSON object: members in document (or insertion) order, keys unique.
///
/// Lookups scan linearly, which is fastest for the small objects JSON
/// payloads usually hold. Equality ignores member order, as in JSON.
public struct JSONObject: Sendable {
    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue

        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    public private(set) var members: [Member]

    public init() {
        members = []
    }

    /// Builds an object from key–value pairs; a repeated key traps, as with
    /// `Dictionary` literals.
    public init(_ pairs: KeyValuePairs<String, JSONValue>) {
        members = []
        members.reserveCapacity(pairs.count)
        for (key, value) in pairs {
            precondition(index(of: key) == nil, "duplicate key \"\(key)\" in JSONObject literal")
            members.append(Member(key: key, value: value))
        }
    }

    /// Takes members whose keys the caller has already checked are unique.
    init(uniqueMembers: [Member]) {
        members = uniqueMembers
    }

    public var keys: [String] { members.map(\.key) }
    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }

    /// The value for `key`. Assigning `nil` removes the member (assign `.null`
    /// to store a JSON null); assigning to a new key appends it.
    public subscript(key: String) -> JSONValue? {
        get { index(of: key).map { members[$0].value } }
        set {
            switch (index(of: key), newValue) {
            case (let i?, let value?): members[i].value = value
            case (let i?, nil): members.remove(at: i)
            case (nil, let value?): members.append(Member(key: key, value: value))
            case (nil, nil): break
            }
        }
    }

    /// Adds a member at the end, or replaces the value in place if `key` is
    /// already present.
    public mutating func append(_ key: String, _ value: JSONValue) {
        self[key] = value
    }

    func index(of key: String) -> Int? {
        members.firstIndex { $0.key == key }
    }
}

extension JSONObject: Equatable {
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        if lhs.members == rhs.members { return true }
        for member in lhs.members {
            guard let other = rhs[member.key], other == member.value else { return false }
        }
        return true
    }
}

extension JSONObject: Sequence {
    public func makeIterator() -> some IteratorProtocol<(key: String, value: JSONValue)> {
        members.lazy.map { (key: $0.key, value: $0.value) }.makeIterator()
    }
}
