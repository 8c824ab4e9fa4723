import Glibc

/// A config file that holds secrets must not be readable by every user of the machine.
enum ConfigFilePermissions {
    /// A warning naming the file and the secret keys it holds when others may read it; nil otherwise.
    static func warning(path: String, settings: [ConfigurationLoader.Setting]) -> String? {
        let secrets = settings.filter { setting in
            guard case .file = setting.source, !setting.value.isEmpty else { return false }
            if setting.key == "DATABASE_URL" { return Redaction.conninfo(setting.value) != setting.value }
            return setting.isSecret
        }
        guard !secrets.isEmpty, isReadableByOthers(path) else { return nil }
        return "config file \(path) holds secrets (\(secrets.map(\.key).joined(separator: ", "))) and is readable by other users; "
            + "run chmod o-rwx \(path) (e.g. mode 640, group outboxd)"
    }

    static func isReadableByOthers(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return info.st_mode & S_IROTH != 0
    }
}
