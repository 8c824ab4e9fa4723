import Foundation

/// Where the test run's resources are: set by `scripts/test.sh` (`make test`).
public enum TestEnvironment {
    /// Conninfo of the throwaway cluster's `outboxd` database.
    public static var databaseURL: String {
        guard let url = ProcessInfo.processInfo.environment["OUTBOXD_TEST_DATABASE_URL"], !url.isEmpty else {
            fatalError("OUTBOXD_TEST_DATABASE_URL is not set: run the suite with `make test`")
        }
        return url
    }

    /// The package root (tests run with it as the working directory).
    public static var repositoryRoot: URL {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }

    public static var migrationsDirectory: String {
        repositoryRoot.appendingPathComponent("migrations").path
    }

    /// The `outboxd` binary built for this run.
    public static var binaryPath: String {
        ProcessInfo.processInfo.environment["OUTBOXD_BIN"]
            ?? repositoryRoot.appendingPathComponent(".build/debug/outboxd").path
    }

    /// The Swift toolchain the tests run with (the folder above `usr/lib/swift/linux`, whose
    /// `libswiftCore.so` is mapped into this process), or nil when the runtime is linked statically.
    public static var swiftToolchainDirectory: String? {
        let library = "/usr/lib/swift/linux/libswiftCore.so"
        // Read to the end: procfs reports a size of 0, which String(contentsOfFile:) trusts.
        guard let data = FileHandle(forReadingAtPath: "/proc/self/maps")?.readDataToEndOfFile() else { return nil }
        let maps = String(decoding: data, as: UTF8.self)
        return maps.split(separator: "\n").lazy.compactMap { line -> String? in
            guard let slash = line.firstIndex(of: "/"), line.hasSuffix(library) else { return nil }
            return String(line[slash...].dropLast(library.count))
        }.first
    }

    /// A scratch folder removed after the run.
    public static var scratchDirectory: URL {
        let path = ProcessInfo.processInfo.environment["OUTBOXD_TEST_SCRATCH"] ?? NSTemporaryDirectory()
        return URL(fileURLWithPath: path, isDirectory: true)
    }

    /// Replaces the database name of a `postgresql://…/name` URL.
    public static func url(_ base: String, database: String) -> String {
        guard let slash = base.range(of: "/", options: .backwards, range: base.range(of: "://")!.upperBound..<base.endIndex) else {
            return base + "/" + database
        }
        let query = base[slash.upperBound...].firstIndex(of: "?").map { String(base[$0...]) } ?? ""
        return String(base[..<slash.upperBound]) + database + query
    }
}
