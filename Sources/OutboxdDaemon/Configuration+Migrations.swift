import Foundation

extension Configuration {
    /// `MIGRATIONS_DIR` as given, except that the default (`migrations`, relative) falls back to
    /// the installed files, `<binary>/../share/outboxd/migrations`, when the working directory
    /// has none: `outboxd migrate` run by an operator from any folder finds them, as the units do.
    var migrationsDirectoryInUse: String {
        let files = FileManager.default
        guard migrationsDirectory == Configuration().migrationsDirectory, !files.fileExists(atPath: migrationsDirectory),
              let binary = try? files.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return migrationsDirectory }
        let installed = URL(fileURLWithPath: binary).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("share/outboxd/migrations").path
        return files.fileExists(atPath: installed) ? installed : migrationsDirectory
    }
}
