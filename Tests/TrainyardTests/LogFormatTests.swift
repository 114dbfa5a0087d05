import Foundation
import Logging
import Testing
@testable import Trainyard

/// `--log-format json`: every line is one JSON object with the request's fields.
@Suite(.serialized) struct LogFormatTests {
    @Test func jsonLine_EscapesControlCharactersAndTypesTheNumbers() throws {
        let line = JSONLogHandler.line(time: Date(timeIntervalSince1970: 1_764_700_000.25), level: .warning, label: "trainyard",
                                       message: "GET /x 404\nforged line \"quoted\"", metadata: [
                                           "status": "404", "duration_ms": "1.25", "request_id": "abc-1", "path": "/a\u{1b}[31m",
                                           "actor": "ada", "nested": .dictionary(["k": .array(["v"])]),
                                       ])
        #expect(line.hasSuffix("}\n"))
        #expect(line.dropLast().firstIndex(of: "\n") == nil, "one line, whatever the values hold")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["time"] as? String == "2025-12-02T18:26:40.250Z")
        #expect(object["level"] as? String == "warning")
        #expect(object["message"] as? String == "GET /x 404\nforged line \"quoted\"")
        #expect(object["status"] as? Int == 404)
        #expect(object["duration_ms"] as? Double == 1.25)
        #expect(object["request_id"] as? String == "abc-1")
        #expect(object["path"] as? String == "/a\u{1b}[31m")
        #expect((object["nested"] as? [String: Any])?["k"] as? [String] == ["v"])
    }

    @Test func errorPage_ShowsTheRequestId() throws {
        let app = try RunningApp(.sqlite)
        defer { app.stop() }
        let browser = try app.browser()
        let missing = try browser.get("/training/jobs/987654321")
        #expect(missing.status == 404)
        let id = try #require(missing.header("X-Request-Id"))
        #expect(missing.body.contains("Request id <code>\(id)</code>"))
    }

    @Test func serveWithJSONLogs_WritesOneObjectPerLineWithTheRequestFields() throws {
        let directory = NSTemporaryDirectory() + "trainyard-logs-" + UUID().uuidString.prefix(8).lowercased()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try TwoServeProcessesTests.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: InstalledLayoutTests.builtBinary)
        process.arguments = ["serve", "--port", String(port), "--data-dir", directory, "--log-format", "json"]
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": directory]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, (try? TestHTTPClient.send(port: port, method: "GET", path: "/healthz").status) != 200 {
            Thread.sleep(forTimeInterval: 0.1)
        }
        let login = try TestHTTPClient.send(port: port, method: "GET", path: "/login")
        #expect(login.status == 200)
        let id = try #require(login.header("X-Request-Id"))
        process.terminate()
        let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        let lines = output.split(separator: "\n")
        #expect(lines.count >= 3)
        var objects: [[String: Any]] = []
        for line in lines {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(line)")
            if let object { objects.append(object) }
        }
        #expect(objects.allSatisfy { $0["time"] is String && $0["level"] is String && $0["message"] is String })
        let access = try #require(objects.first { $0["request_id"] as? String == id })
        #expect(access["method"] as? String == "GET")
        #expect(access["route"] as? String == "/login")
        #expect(access["status"] as? Int == 200)
        #expect(access["duration_ms"] is Double || access["duration_ms"] is Int)
    }
}
