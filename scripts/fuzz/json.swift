/// libFuzzer entry for `JSONParser` (built by scripts/fuzz.sh with OutboxdCore's JSON files): no
/// input traps or trips AddressSanitizer, an error points inside the input, and a parsed value
/// written back out parses to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    do {
        let value = try JSONParser.parse(bytes)
        let written = JSONWriter.bytes(value)
        precondition((try? JSONParser.parse(written)) == value, "written JSON does not parse back to the same value")
        _ = value.intValue
        _ = value.doubleValue
    } catch {
        precondition((0...size).contains(error.offset), "error offset \(error.offset) outside the input")
    }
    return 0
}
