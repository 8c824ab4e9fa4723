/// libFuzzer entry for `EnvironmentFile` (built by scripts/fuzz.sh with its two source files): no
/// input traps, every entry has a valid key, and every error names its key or its line.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        for entry in try EnvironmentFile.parse(text, name: "fuzz.conf") {
            precondition(EnvironmentFile.isValidKey(entry.key), "entry with an invalid key")
        }
    } catch let error as ConfigurationError {
        precondition(error.message.contains("fuzz.conf line "), "error names no line: \(error)")
    } catch {
        preconditionFailure("untyped error \(error)")
    }
    return 0
}
