/// A few seconds of tones, MP3 at 128 kbit/s: the built-in station's audio, so `casty-cli demo` and the tests
/// need no file and no internet.
///
/// The audio is `Resources/tone.mp3` next to this file: 64,783 bytes, 155 frames of MPEG-1 Layer III at
/// 128 kbit/s CBR, 44.1 kHz, joint stereo (4.049 s): the notes C5 E5 G5 C6, one second each, with no ID3 tag
/// and no Xing/Info frame — nothing but MP3 frames, so it can be cut into ICY segments and looped as a live
/// stream. `scripts/make-tone.sh` makes it with ffmpeg; SwiftPM embeds it in the program (`.embedInCode` in
/// Package.swift) as the byte array `PackageResources.tone_mp3`, so no file is read at run time.
enum BuiltInTone {
    /// The MP3 file's bytes.
    static var mp3: [UInt8] { PackageResources.tone_mp3 }
}
