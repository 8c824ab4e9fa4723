/// Where a task stands.
public enum TaskStatus: String, Sendable, CaseIterable, Equatable {
    case todo
    case inProgress = "in_progress"
    case done

    public static let allowedList = allCases.map(\.rawValue).joined(separator: ", ")
}
