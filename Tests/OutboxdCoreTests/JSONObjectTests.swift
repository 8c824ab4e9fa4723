import Testing
import OutboxdCore

@Suite struct JSONObjectTests {
    @Test func keepsInsertionOrder() {
        var object = JSONObject()
        object.append("z", 1)
        object.append("a", 2)
        object.append("m", 3)
        #expect(object.keys == ["z", "a", "m"])
        #expect(object.count == 3)
        #expect(!object.isEmpty)
        #expect(JSONObject().isEmpty)
    }

    @Test func appendReplacesExistingKeyInPlace() {
        var object: JSONObject = ["a": 1, "b": 2]
        object.append("a", "x")
        #expect(object.keys == ["a", "b"])
        #expect(object["a"] == .string("x"))
    }

    @Test func subscriptReadsWritesAndRemoves() {
        var object: JSONObject = ["a": 1, "b": nil]
        #expect(object["a"] == .number("1"))
        #expect(object["b"] == .null)
        #expect(object["c"] == nil)
        object["c"] = true
        object["a"] = .null
        object["b"] = nil
        #expect(object.keys == ["a", "c"])
        #expect(object["a"] == .null)
        #expect(object["c"] == .bool(true))
        object["missing"] = nil
        #expect(object.count == 2)
    }

    @Test func keyValuePairsInitializer() {
        let pairs: KeyValuePairs<String, JSONValue> = ["x": 1, "y": [2]]
        let object = JSONObject(pairs)
        #expect(object.members == [.init(key: "x", value: .number("1")), .init(key: "y", value: .array([.number("2")]))])
    }

    @Test func equalityIgnoresMemberOrderButNotContent() {
        let ab: JSONObject = ["a": 1, "b": [true]]
        let ba: JSONObject = ["b": [true], "a": 1]
        #expect(ab == ba)
        #expect(ab != ["a": 1, "b": [false]])
        #expect(ab != ["a": 1])
        #expect(ab != ["a": 1, "c": [true]])
        #expect(JSONValue.object(ab) == .object(ba))
    }

    @Test func iteratesMembersInOrder() {
        let object: JSONObject = ["k1": "v1", "k2": "v2"]
        var seen: [String] = []
        for (key, value) in object {
            seen.append("\(key)=\(value.stringValue ?? "?")")
        }
        #expect(seen == ["k1=v1", "k2=v2"])
    }
}
