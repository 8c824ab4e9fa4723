extension JSONValue: ExpressibleByNilLiteral {
    public init(nilLiteral: ()) {
        self = .null
    }
}

extension JSONValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) {
        self = .bool(value)
    }
}

extension JSONValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) {
        self = .int(value)
    }
}

extension JSONValue: ExpressibleByStringInterpolation {
    public init(stringLiteral value: String) {
        self = .string(value)
    }
}

extension JSONValue: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: JSONValue...) {
        self = .array(elements)
    }
}

extension JSONValue: ExpressibleByDictionaryLiteral {
    /// Members keep the literal's order; a repeated key traps.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(dictionaryLiteralPairs: elements))
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    /// Members keep the literal's order; a repeated key traps.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(dictionaryLiteralPairs: elements)
    }

    fileprivate init(dictionaryLiteralPairs elements: [(String, JSONValue)]) {
        self.init()
        for (key, value) in elements {
            precondition(index(of: key) == nil, "duplicate key \"\(key)\" in JSONObject literal")
            append(key, value)
        }
    }
}
