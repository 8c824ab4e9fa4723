import OutboxdConsumers
import OutboxdCore

extension HealthRoutes {
    /// Each consumer's counters, and its stalled partitions: down while a partition has had
    /// records to process for `CONSUMER_STALL_TIMEOUT` and processed none, shown with the offset
    /// waited for and what is in the way when known. Lag or dead letters alone are no failure.
    /// The watchdog does not look at this: a restart cannot mend a record.
    static func consumers(_ runners: [ConsumerRunner]) -> Check {
        {
            var up = true
            var details = JSONObject()
            for runner in runners {
                let progress = runner.progress
                let stalls = runner.stalls
                up = up && stalls.isEmpty
                details.append(runner.handler.name, .object(JSONObject([
                    "group": .string(runner.groupID), "applied": .int(progress.applied), "duplicates": .int(progress.duplicates),
                    "failures": .int(progress.failures), "dead_lettered": .int(progress.deadLettered), "errors": .int(progress.errors),
                    "dead_letter_failures": .int(progress.deadLetterFailures), "dead_letters_kept": .int(progress.deadLettersKept),
                    "tombstones_skipped": .int(progress.tombstones), "assigned_partitions": .int(progress.assignedPartitions),
                    "stalled": .array(stalls.map(Self.describe)),
                ])))
            }
            return (up, details)
        }
    }

    private static func describe(_ stall: StallWatch.Stall) -> JSONValue {
        var object = JSONObject(["partition": .int(Int(stall.partition)), "waited_seconds": .int(Int(stall.waited.seconds))])
        if let offset = stall.offset { object.append("offset", .int(Int(offset))) }
        if let reason = stall.reason { object.append("reason", .string(reason)) }
        return .object(object)
    }
}
