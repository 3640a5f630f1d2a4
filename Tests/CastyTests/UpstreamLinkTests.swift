@testable import CastyNet
@testable import CastyWire
import Icy
import Testing

/// An upstream link's silence deadline, checked with its owner before the link is given up
/// (``UpstreamLink/isSilenceUpstream``: a tree branch asks its root).
struct UpstreamLinkTests {
    /// Answers the question out, on the loop, and forgets it: the link may ask again from then on.
    static func answer(_ question: Locked<(@Sendable (Bool) -> Void)?>, _ upstream: Bool) {
        let asked = question.value
        question.update { $0 = nil }
        asked?(upstream)
    }

    @Test("A link whose data comes again while its silence is being checked is kept, whatever the answer: the loop was behind, not the link")
    func dataWhileTheSilenceIsChecked_KeepsTheLink() async throws {
        let loop = EventLoop.shared
        let served = Locked<Connection?>(nil)
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("ICY 200 OK\r\nContent-Type: audio/mpeg\r\nicy-metaint: 100\r\n\r\n".utf8))
            served.update { $0 = connection }
        }
        let opened = try await Upstream.open(upstream.url, loop: loop, timeout: .seconds(10))
        let segments = Locked(0)
        let ended = Locked<CastyError?>(nil)
        let question = Locked<(@Sendable (Bool) -> Void)?>(nil)
        let link = Locked<UpstreamLink?>(nil)
        await loop.submit {
            let made = UpstreamLink(opened, silence: .milliseconds(200), onSegment: { _ in
                segments.update { $0 += 1 }
                return nil
            }, onEnd: { reason in ended.update { $0 = reason } })
            made.isSilenceUpstream = { _, answer in question.update { $0 = answer } }
            link.update { $0 = made }
        }
        // Nothing comes: past its deadline, the link asks whether the silence is upstream's.
        #expect(await eventually(timeout: .seconds(10)) { question.value != nil })
        // A segment comes while the question is out; then the answer: the upstream's stream still comes.
        let connection = try #require(served.value)
        await loop.submit { _ = connection.write([UInt8](repeating: 1, count: 100) + [0]) }
        #expect(await eventually(timeout: .seconds(10)) { segments.value == 1 })
        await loop.submit { Self.answer(question, false) }
        #expect(ended.value == nil, "given up for a silence that was over: \(String(describing: ended.value))")
        // Silent again, and told so: given up.
        #expect(await eventually(timeout: .seconds(10)) { question.value != nil })
        await loop.submit { Self.answer(question, false) }
        #expect(await eventually(timeout: .seconds(10)) { ended.value != nil })
        await loop.submit { link.value?.close() }
        await upstream.close()
    }
}
