import HTTPServer

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
    public static let deploymentsAPI = "/api/deployments"
    public static func deploymentAPI(_ id: Int) -> String { "/api/deployments/\(id)" }
    public static func doc(_ slug: String) -> String { "/docs/" + percentEncodeSegment(slug) }
    /// A table's download: `/deployments` → `/deployments.csv`.
    static func export(_ listPath: String, _ format: ExportFormat) -> String { listPath + "." + format.rawValue }

    /// `path?query` from pairs, skipping empty values; the one encoder for links that keep filters.
    public static func with(_ path: String, _ pairs: [(String, String)]) -> String {
        let kept = pairs.filter { !$0.1.isEmpty }
        return kept.isEmpty ? path : path + "?" + QueryParameters.encode(kept)
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
