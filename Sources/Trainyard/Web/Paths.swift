import HTTPServer
import TemplateEngine

/// Every path the app links to, built in one place so templates never concatenate URLs.
public enum Paths {
    public static let dashboard = "/"
    public static let models = "/models"
    public static let jobs = "/training/jobs"
    public static let configure = "/training/configure"
    public static let compare = "/training/compare"
    public static let deployments = "/deployments"
    public static let docs = "/docs"

    public static func model(_ slug: String) -> String { "/models/" + percentEncodeSegment(slug) }
    public static let newModel = "/models/new"
    public static func editModel(_ slug: String) -> String { model(slug) + "/edit" }
    public static func deleteModel(_ slug: String) -> String { model(slug) + "/delete" }
    public static func modelAPI(_ slug: String) -> String { "/api/models/" + percentEncodeSegment(slug) }
    public static func job(_ id: Int) -> String { "/training/jobs/\(id)" }
    public static func deployment(_ id: Int) -> String { "/deployments/\(id)" }
    /// `deployment(_:)` written by the renderer from the id, for a table's rows.
    public static let deploymentHref = TemplateFormatter { id, buffer in
        var i = 0
        for byte in "/deployments/".utf8 { buffer[i] = byte; i += 1 }
        return i + TemplateFormatter.decimal(id, into: UnsafeMutableBufferPointer(rebasing: buffer[i...]))
    }
    public static let deploymentsAPI = "/api/deployments"
    public static func deploymentAPI(_ id: Int) -> String { "/api/deployments/\(id)" }
    public static func doc(_ slug: String) -> String { "/docs/" + percentEncodeSegment(slug) }
    /// A table's download: `/deployments` → `/deployments.csv`.
    static func export(_ listPath: String, _ format: ExportFormat) -> String { listPath + "." + format.rawValue }

    /// `path?query` from pairs, skipping empty values; the one encoder for links that keep filters.
    public static func with(_ path: String, _ pairs: [(String, String)]) -> String {
        with(path) { pair in for (name, value) in pairs { pair(name, value) } }
    }

    /// `path?query` from the pairs `visit` hands its argument, skipping empty values. The link
    /// is written straight into the string's storage (sized by a first visit): a table page makes
    /// a dozen, and as a pairs array, a byte buffer and a string each was three allocations.
    public static func with(_ path: String, visiting visit: ((String, String) -> Void) -> Void) -> String {
        var room = path.utf8.count
        var any = false
        visit { name, value in
            guard !value.isEmpty else { return }
            any = true
            room += 1 + QueryParameters.pairLengthBound(name, value)
        }
        guard any else { return path }
        return String(unsafeUninitializedCapacity: room) { buffer in
            var at = 0
            for byte in path.utf8 { buffer[at] = byte; at += 1 }
            var separator = UInt8(ascii: "?")
            visit { name, value in
                guard !value.isEmpty else { return }
                buffer[at] = separator
                at += 1
                separator = UInt8(ascii: "&")
                QueryParameters.writePair(name, value, into: buffer, at: &at)
            }
            return at
        }
    }

    static func percentEncodeSegment(_ segment: String) -> String {
        var out = ""
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}
