import Testing

extension FaultCounts {
    /// What every scenario must show after recovery: nothing lost, every outbox event in Kafka,
    /// per-task order kept, and each event's effect applied exactly once.
    func expectCompleteAndOrdered(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(lost == 0, sourceLocation: sourceLocation)
        #expect(events == outbox, sourceLocation: sourceLocation)
        #expect(orderViolations == 0, sourceLocation: sourceLocation)
        #expect(effects == outbox, sourceLocation: sourceLocation)
        #expect(effectDuplicates == 0 && missingEffects == 0, sourceLocation: sourceLocation)
    }
}
