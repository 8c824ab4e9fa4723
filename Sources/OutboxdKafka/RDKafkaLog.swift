import CRdKafka
import OutboxdCore

/// librdkafka's log lines (syslog levels 0–7) into our log, as component `kafka`.
let rdKafkaLogCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = { _, level, facility, message in
    let mapped: Logger.Level
    switch level {
    case ...3: mapped = .error
    case 4: mapped = .warning
    case 5: mapped = .notice
    case 6: mapped = .info
    default: mapped = .debug
    }
    Logger(label: "kafka").log(mapped, message.map { String(cString: $0) } ?? "",
                               ["facility": facility.map { String(cString: $0) } ?? ""])
}
