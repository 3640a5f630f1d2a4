import Icy
import Testing

@testable import Casty

/// Players' reply heads are made once per stream context, wire form and page origin, and made anew when any of
/// them differs.
struct ReplyHeadsTests {
    @Test func sameStreamFormAndOrigin_ReuseTheHead_AnyDifferenceMakesANewOne() {
        let heads = ReplyHeads()
        var made = 0
        func head(_ context: Context, _ form: Listening.Form, _ origin: String?) -> [UInt8] {
            heads.head(context: context, form: form, origin: origin) {
                made += 1
                return Array("head \(made)".utf8)
            }
        }
        let context = testContext()
        #expect(head(context, .icy, nil) == Array("head 1".utf8))
        #expect(head(context, .icy, nil) == Array("head 1".utf8))
        #expect(made == 1)
        _ = head(context, .audio, nil)
        _ = head(context, .icy, "https://example.org")
        var renamed = context
        renamed.station["icy-name"] = "Other FM"
        _ = head(renamed, .icy, nil)
        #expect(made == 4)
        #expect(head(context, .icy, nil) == Array("head 1".utf8), "the first is still kept")
    }

    @Test func aFullCache_LetsTheOldestGo() {
        let heads = ReplyHeads()
        for bitrate in 1...ReplyHeads.capacity + 1 {
            _ = heads.head(context: testContext(bitrate: bitrate), form: .audio, origin: nil) { [UInt8(bitrate)] }
        }
        var madeAgain = false
        _ = heads.head(context: testContext(bitrate: 1), form: .audio, origin: nil) { madeAgain = true; return [] }
        #expect(madeAgain)
    }
}
