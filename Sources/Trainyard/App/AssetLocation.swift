import Foundation

/// Where `Templates/`, `Public/` and `Docs/` are, found without relying on the working
/// directory, so an installed `trainyard` runs from anywhere.
///
/// In order: the directory given (`--assets-dir`, `TRAINYARD_ASSETS_DIR`); `../share/trainyard`
/// next to the executable (an installed layout: `<prefix>/bin/trainyard`,
/// `<prefix>/share/trainyard/Templates`); the nearest directory above the executable holding
/// all three (a checkout's `.build/<config>/trainyard`); the working directory.
public enum AssetLocation {
    static let folders = ["Templates", "Public", "Docs"]

    /// The directory holding the three folders, or a message saying where it looked.
    public static func find(explicit: String?, executable: String = AssetLocation.executablePath(),
                            workingDirectory: String = FileManager.default.currentDirectoryPath) -> Result<String, AppConfiguration.Invalid> {
        if let explicit {
            guard holdsAssets(explicit) else {
                return .failure(.init(description: "\(explicit) does not hold Templates/, Public/ and Docs/"))
            }
            return .success(explicit)
        }
        var candidates: [String] = []
        let binDirectory = (executable as NSString).deletingLastPathComponent
        candidates.append(((binDirectory as NSString).deletingLastPathComponent as NSString).appendingPathComponent("share/trainyard"))
        var ancestor = binDirectory
        for _ in 0..<5 {
            candidates.append(ancestor)
            let parent = (ancestor as NSString).deletingLastPathComponent
            if parent == ancestor { break }
            ancestor = parent
        }
        candidates.append(workingDirectory)
        if let found = candidates.first(where: holdsAssets) { return .success(found) }
        return .failure(.init(description: """
            cannot find Templates/, Public/ and Docs/: looked in \(candidates.joined(separator: ", ")); \
            install them to <prefix>/share/trainyard next to <prefix>/bin/trainyard, or pass --assets-dir
            """))
    }

    static func holdsAssets(_ directory: String) -> Bool {
        folders.allSatisfy { folder in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(folder), isDirectory: &isDirectory)
                && isDirectory.boolValue
        }
    }

    /// The running executable, symbolic links resolved (`/proc/self/exe`).
    public static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Points the configuration's three directories into `root`, except those set on their own.
    public static func apply(_ root: String, to config: inout AppConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment) {
        func join(_ folder: String) -> String { (root as NSString).appendingPathComponent(folder) }
        if environment["TRAINYARD_TEMPLATES_DIR"]?.isEmpty ?? true { config.templatesDirectory = join("Templates") }
        if environment["TRAINYARD_PUBLIC_DIR"]?.isEmpty ?? true { config.publicDirectory = join("Public") }
        if environment["TRAINYARD_DOCS_DIR"]?.isEmpty ?? true { config.docsDirectory = join("Docs") }
    }
}
