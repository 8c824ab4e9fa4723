@testable import OutboxdOutbox
import Testing

/// Debezium's `table.expand.json.payload` beyond the golden rows: Java's number text, and where the
/// expansion leaves the payload a string.
@Suite struct DebeziumExpandedPayloadTests {
    @Test(arguments: [(9.5, "9.5"), (1.0, "1.0"), (100.0, "100.0"), (-2.5, "-2.5"), (0.001, "0.001"), (0.0009, "9.0E-4"),
                      (1e-7, "1.0E-7"), (12345678.9, "1.23456789E7"), (9999999.0, "9999999.0"), (1e7, "1.0E7"), (123456.789, "123456.789"),
                      (-0.0, "-0.0"), (0.0, "0.0"), (1.7976931348623157e308, "1.7976931348623157E308"), (0.1 + 0.2, "0.30000000000000004")])
    func doublesAreWrittenAsJavasDoubleToString(_ value: Double, _ java: String) {
        #expect(DebeziumExpandedPayload.javaDouble(value) == java)
    }

    @Test func whatDebeziumCannotExpandStaysAString() {
        for payload in [#""text""#, "42", "[1, 2]", "[1, 2.5]", #"{"a": [1, "x"]}"#, #"{"": 1}"#, #"{"big": 100000000000000000000}"#,
                        #"{"a": [null, null]}"#, #"{"a": [1, 3000000000]}"#, #"{"objs": [{"x": 1}, {"x": "s"}]}"#] {
            #expect(DebeziumExpandedPayload.expand(Array(payload.utf8)) == nil, "\(payload)")
        }
    }

    @Test func objectsOfAnArrayAreMergedAndAbsentMembersAreNull() throws {
        let expanded = try #require(DebeziumExpandedPayload.expand(Array(#"{"objs": [{"x": 1}, {"x": 2, "y": "z"}], "n": null, "e": []}"#.utf8)))
        #expect(String(decoding: expanded.json, as: UTF8.self) == #"{"objs":[{"x":1,"y":null},{"x":2,"y":"z"}]}"#)
        #expect(String(decoding: expanded.text, as: UTF8.self) == "Struct{objs=[Struct{x=1}, Struct{x=2,y=z}]}")
        #expect(String(decoding: expanded.schemaJSON, as: UTF8.self) == """
            {"type":"struct","fields":[{"type":"array","items":{"type":"struct","fields":[{"type":"int32","optional":true,"field":"x"},\
            {"type":"string","optional":true,"field":"y"}],"optional":true,"name":"payload.objs"},"optional":true,"field":"objs"}],\
            "optional":true,"name":"payload"}
            """)
        let empty = try #require(DebeziumExpandedPayload.expand(Array(#"{"n": null}"#.utf8)))
        #expect(String(decoding: empty.json, as: UTF8.self) == "{}")
        #expect(String(decoding: empty.text, as: UTF8.self) == "Struct{}")
    }
}
