/// The bitrate an encoder was set to, from the one measured on its stream.
///
/// MP3 headers say their bitrate; ADTS headers do not, so an AAC stream's is measured — its frames' bytes over
/// their duration — and the measure counts what the encoder's setting does not: each frame's 7-byte header, 2.6
/// kbit/s at 48 kHz. An encoder set to 96 kbit/s measures 99, and a player shown `icy-br: 99` shows a bitrate no
/// encoder has. What listeners are told is the usual bitrate the measure is within 4 % of; what the nodes count
/// with (a segment's duration, HLS positions) stays the measure, which is the bytes' real rate.
package enum NominalBitrate {
    /// The bitrates encoders offer, in kbit/s.
    package static let usual = [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 192, 224, 256, 320, 384, 448, 512]

    /// The usual bitrate within 4 % of `measured` kbit/s (the nearest), or `measured` itself if none is.
    package static func of(_ measured: Int) -> Int {
        guard let nearest = usual.min(by: { abs($0 - measured) < abs($1 - measured) }),
              abs(nearest - measured) * 100 <= 4 * nearest else { return measured }
        return nearest
    }
}
