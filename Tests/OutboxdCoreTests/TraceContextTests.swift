import OutboxdCore
import Testing

/// W3C Trace Context parsing: what is kept, what is dropped (never an error).
@Suite struct TraceContextTests {
    static let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test func aValidTraceparentIsKeptWithItsTraceID() throws {
        let context = try #require(TraceContext(traceparent: [Self.parent], tracestate: []))
        #expect(context.traceparent == Self.parent)
        #expect(context.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(context.tracestate == nil)
        #expect(TraceContext.headersText(context) == #"{"traceparent":"\#(Self.parent)"}"#)
        #expect(TraceContext(traceparent: [" \(Self.parent)\t"], tracestate: [])?.traceparent == Self.parent)
    }

    @Test(arguments: [
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",            // no flags
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",        // version 00 longer than 55
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-010",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",         // version ff
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",         // version not hex
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",         // uppercase trace id
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",         // all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",         // all-zero parent id
        "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",         // dash misplaced
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",         // flags not hex
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",        // later version: no '-' after the flags
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\u{7F}",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-é",
    ])
    func aMalformedTraceparentGivesNoContextAndDropsTracestate(value: String) {
        #expect(TraceContext(traceparent: [value], tracestate: ["congo=t61rcWkgMzE"]) == nil)
    }

    @Test func aLaterVersionMayCarryMoreFields() throws {
        let longer = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds"
        #expect(TraceContext(traceparent: [longer], tracestate: [])?.traceparent == longer)
        let exact = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09"
        #expect(TraceContext(traceparent: [exact], tracestate: [])?.traceparent == exact)
    }

    @Test func twoTraceparentLinesGiveNoContext() {
        #expect(TraceContext(traceparent: [Self.parent, Self.parent], tracestate: []) == nil)
        #expect(TraceContext(traceparent: [], tracestate: ["congo=t61rcWkgMzE"]) == nil)
    }

    @Test func tracestateLinesAreCombinedAndEmptyMembersLeftOut() throws {
        let context = try #require(TraceContext(traceparent: [Self.parent],
                                                tracestate: ["rojo=00f067aa0ba902b7 , ,congo=t61rcWkgMzE", "tenant@vendor=a b"]))
        #expect(context.tracestate == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,tenant@vendor=a b")
        #expect(TraceContext.headersText(context)
            == #"{"traceparent":"\#(Self.parent)","tracestate":"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,tenant@vendor=a b"}"#)
    }

    @Test(arguments: [
        "Rojo=1",                    // uppercase key
        "1abc=1",                    // simple key starting with a digit
        "rojo",                      // no '='
        "rojo=",                     // empty value
        "rojo=a,b",                  // a member without '=' after the comma
        "rojo=a=b",                  // '=' in the value
        "rojo=a\tb",                 // tab inside the value
        "rojo=1,rojo=2",             // a key twice
        "rojo=\u{01}",               // control character
        "rojo=café",                 // not ASCII
        "t@Vendor=1",                // system id must start lowercase
        "t@vendorvendorvend=1",      // system id longer than 14
    ])
    func aMalformedTracestateIsDroppedAlone(value: String) throws {
        let context = try #require(TraceContext(traceparent: [Self.parent], tracestate: [value]))
        #expect(context.tracestate == nil, "\(value)")
        #expect(TraceContext.headersText(context) == #"{"traceparent":"\#(Self.parent)"}"#)
    }

    @Test func tracestateOver512CharactersOr32MembersIsDropped() throws {
        let fits = (0..<5).map { "k\($0)=" + String(repeating: "v", count: 97) }.joined(separator: ",") + ",k5=vvvv"
        #expect(fits.utf8.count == 512)
        #expect(TraceContext(traceparent: [Self.parent], tracestate: [fits])?.tracestate == fits)
        #expect(TraceContext(traceparent: [Self.parent], tracestate: [fits + "v"])?.tracestate == nil)
        #expect(TraceContext(traceparent: [Self.parent], tracestate: [fits, "k6=1"])?.tracestate == nil, "the combined lines count")
        let many = (0..<33).map { "k\($0)=1" }.joined(separator: ",")
        #expect(TraceContext(traceparent: [Self.parent], tracestate: [many])?.tracestate == nil)
        let thirtyTwo = (0..<32).map { "k\($0)=1" }.joined(separator: ",")
        #expect(TraceContext(traceparent: [Self.parent], tracestate: [thirtyTwo])?.tracestate == thirtyTwo)
    }
}
