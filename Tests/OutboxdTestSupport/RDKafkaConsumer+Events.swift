import OutboxdKafka

extension RDKafkaConsumer {
    /// Reads until every id in `eventIDs` was seen as a `ce_id` header, or until nothing new
    /// arrives for `quiet`. Duplicates stay in the result, so at-least-once tests can count them.
    public func readEvents(_ eventIDs: Set<String>, timeout: Duration = .seconds(60), quiet: Duration = .seconds(10)) throws -> [KafkaRecord] {
        var records = try read(count: eventIDs.count, timeout: timeout)
        var seen = Set(records.compactMap { $0.header("ce_id") })
        while !eventIDs.isSubset(of: seen) {
            let more = try read(count: eventIDs.subtracting(seen).count, timeout: quiet)
            if more.isEmpty { break }
            records += more
            seen.formUnion(more.compactMap { $0.header("ce_id") })
        }
        return records
    }
}
