/// Decides whether a path may be used as a redirect target.
///
/// Only same-site relative paths qualify: one leading `/`, then no `/` or `\` right after it
/// (`//evil`, `/\evil` are protocol-relative to browsers), no scheme, no control characters.
public enum SafeRedirect {
    public static func isSafe(_ target: String) -> Bool {
        let bytes = Array(target.utf8)
        guard let first = bytes.first, first == UInt8(ascii: "/") else { return false }
        if bytes.count > 1, bytes[1] == UInt8(ascii: "/") || bytes[1] == UInt8(ascii: "\\") { return false }
        for byte in bytes where byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "\\") { return false }
        return bytes.count <= 2048
    }

    /// `target` when safe, otherwise `fallback`; bytes beyond ASCII are percent-encoded, so
    /// the `Location` header stays ASCII as HTTP requires (`/deployments?q=über` →
    /// `/deployments?q=%C3%BCber`).
    public static func path(_ target: String?, fallback: String) -> String {
        guard let target, isSafe(target) else { return fallback }
        guard target.utf8.contains(where: { $0 >= 0x80 }) else { return target }
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in target.utf8 {
            if byte >= 0x80 {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
