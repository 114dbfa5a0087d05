import Foundation
import Testing
@testable import Trainyard

/// `scripts/install.sh` puts the binary and its assets under a prefix, and the installed
/// `trainyard serve` runs from `/`, finding them beside itself.
@Suite(.serialized) struct InstalledLayoutTests {
    static var builtBinary: String { RunningApp.repositoryRoot + "/.build/debug/trainyard" }

    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "trainyard-install-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs `executable` in `directory` and returns its process (started).
    func launch(_ executable: String, _ arguments: [String], in directory: String, environment: [String: String]) throws -> Process {
        // A binary written a moment ago can be "busy" (ETXTBSY) while another test thread's
        // fork still holds the copy's descriptor until its exec; that clears within moments.
        for attempt in 1... {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = Pipe()
            do {
                try process.run()
                return process
            } catch let error as NSError where attempt < 20 && (error.userInfo[NSUnderlyingErrorKey] as? NSError)?.code == Int(ETXTBSY) {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        fatalError("unreachable")
    }

    func waitForHealth(_ port: Int, while process: Process) -> Bool {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && process.isRunning {
            if (try? TestHTTPClient.send(port: port, method: "GET", path: "/healthz").status) == 200 { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }

    @Test func installedBinary_ServesFromTheRootDirectory() throws {
        let prefix = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let install = Process()
        install.executableURL = URL(fileURLWithPath: "/bin/bash")
        install.arguments = [RunningApp.repositoryRoot + "/scripts/install.sh", "--prefix", prefix, "--binary", Self.builtBinary]
        install.standardOutput = FileHandle.nullDevice
        try install.run()
        install.waitUntilExit()
        #expect(install.terminationStatus == 0)
        for folder in ["Templates", "Public", "Docs"] {
            #expect(FileManager.default.fileExists(atPath: "\(prefix)/share/trainyard/\(folder)"), "\(folder) installed")
        }

        let port = try TwoServeProcessesTests.freePort()
        let server = try launch("\(prefix)/bin/trainyard",
                                ["serve", "--port", String(port), "--data-dir", "\(prefix)/data", "--log-level", "error"],
                                in: "/", environment: ["PATH": "/usr/bin:/bin", "HOME": prefix])
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        #expect(waitForHealth(port, while: server), "the installed server came up from /")
        let login = try TestHTTPClient.send(port: port, method: "GET", path: "/login")
        #expect(login.status == 200)
        #expect(login.body.contains("<form"))
        let css = try TestHTTPClient.send(port: port, method: "GET", path: "/static/app.css")
        #expect(css.status == 200)
        let installedCSS = try String(contentsOfFile: "\(prefix)/share/trainyard/Public/app.css", encoding: .utf8)
        #expect(css.body == installedCSS)
    }

    @Test func binaryWithoutItsAssets_RefusesToStartAndSaysWhere() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: "\(directory)/bin", withIntermediateDirectories: true)
        // Copied by `cp`, not by this process: a descriptor this process opened to write the copy
        // could be inherited by a `serve` another test spawns at that moment, and an executable
        // open for writing anywhere cannot be run (ETXTBSY) for as long as that server lives.
        let copy = Process()
        copy.executableURL = URL(fileURLWithPath: "/bin/cp")
        copy.arguments = [Self.builtBinary, "\(directory)/bin/trainyard"]
        try copy.run()
        copy.waitUntilExit()
        #expect(copy.terminationStatus == 0)
        let server = try launch("\(directory)/bin/trainyard",
                                ["serve", "--port", "0", "--data-dir", "\(directory)/data"],
                                in: "/", environment: ["PATH": "/usr/bin:/bin", "HOME": directory])
        let errors = server.standardError as! Pipe
        let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        server.waitUntilExit()
        #expect(server.terminationStatus != 0)
        #expect(output.contains("cannot find Templates/, Public/ and Docs/"))
        #expect(output.contains("--assets-dir"))
    }

    @Test func assetLocation_PrefersTheExplicitDirectoryThenShareThenTheCheckout() throws {
        let root = RunningApp.repositoryRoot
        #expect(try AssetLocation.find(explicit: root, executable: "/nowhere/bin/trainyard", workingDirectory: "/").get() == root)
        #expect(throws: AppConfiguration.Invalid.self) {
            try AssetLocation.find(explicit: "/nonexistent", executable: "/nowhere/bin/trainyard", workingDirectory: root).get()
        }
        // A checkout's build directory: found by walking up from the executable.
        #expect(try AssetLocation.find(explicit: nil, executable: root + "/.build/x86_64-unknown-linux-gnu/debug/trainyard",
                                       workingDirectory: "/").get() == root)
        // Nothing found anywhere: the message lists where it looked.
        switch AssetLocation.find(explicit: nil, executable: "/nowhere/bin/trainyard", workingDirectory: "/") {
        case .success(let found): Issue.record("found assets at \(found)")
        case .failure(let failure): #expect(failure.description.contains("/nowhere/share/trainyard"))
        }
    }
}
