import Foundation

/// The one summary line a scenario prints, `FAULT <scenario> key=value …`, for scripts to collect.
enum FaultLine {
    static func print(_ scenario: String, _ fields: [(String, String)]) {
        let source = FaultRig.relaySource == "poll" ? [] : ["relay_source=\(FaultRig.relaySource)"]
        let line = (["FAULT", scenario] + source + fields.map { "\($0.0)=\($0.1)" }).joined(separator: " ")
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
