/// Reproducible pseudo-random numbers from a key, so simulated values are pure functions of
/// (entity, step or minute, seed): every replica computes the same figure and a reload never jumps.
enum DeterministicNoise {
    /// SplitMix64 finaliser: a well-mixed 64-bit value for any input.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func hash(_ parts: Int...) -> UInt64 {
        var h: UInt64 = 0x1234_5678_9ABC_DEF0
        for part in parts { h = mix(h ^ UInt64(bitPattern: Int64(part))) }
        return h
    }

    /// Uniform in [0, 1).
    static func uniform(_ parts: Int...) -> Double {
        var h: UInt64 = 0x1234_5678_9ABC_DEF0
        for part in parts { h = mix(h ^ UInt64(bitPattern: Int64(part))) }
        return Double(h >> 11) / Double(1 << 53)
    }

    /// Standard normal via Box–Muller from two keyed uniforms.
    static func normal(_ a: Int, _ b: Int, _ c: Int) -> Double {
        let u1 = max(uniform(a, b, c, 1), 1e-12)
        let u2 = uniform(a, b, c, 2)
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }
}

import Foundation
@inline(__always) private func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Foundation.cos(x) }
