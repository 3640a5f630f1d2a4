@testable import CastyNet
@testable import CastyWire
import Icy
import Testing

@testable import Casty

/// A public initializer given a value it cannot work with throws a ``ConfigurationError`` naming the value and
/// the values allowed, instead of trapping.
struct ConfigurationTests {
    let url = StreamURL(host: "127.0.0.1", port: 9)

    // MARK: Cutter and Station: the segment size is an icy-metaint

    @Test(arguments: [0, -1, -8192, 1_048_577, Int.max, Int.min])
    func cutter_ThrowsForASegmentSizeThatIsNoMetaint(segmentBytes: Int) {
        #expect(throws: ConfigurationError.segmentBytes(segmentBytes, allowed: IcyLimits.metaintRange)) {
            try Cutter(segmentBytes: segmentBytes)
        }
    }

    @Test(arguments: [1, 8192, 1_048_576])
    func cutter_TakesEveryMetaint(segmentBytes: Int) throws {
        #expect(try Cutter(segmentBytes: segmentBytes).segmentBytes == segmentBytes)
    }

    @Test(arguments: [0, -1, 1_048_577])
    func station_ThrowsForABadSegmentSize(segmentBytes: Int) {
        let error = ConfigurationError.segmentBytes(segmentBytes, allowed: IcyLimits.metaintRange)
        #expect(throws: error) { try Station.builtIn(segmentBytes: segmentBytes) }
        #expect(throws: error) { try Station(mp3: BuiltInTone.mp3, segmentBytes: segmentBytes) }
    }

    @Test func station_ThrowsTheMP3Error_ForBytesWithNoFrames() {
        #expect(throws: ConfigurationError.mp3(.noFrames(byteCount: 0))) { try Station(mp3: []) }
    }

    @Test func builtInStation_PlaysTheEmbeddedTone() throws {
        let station = try Station.builtIn(segmentBytes: 1600)
        #expect(station.file.frames.count == 155)
        #expect(station.bitrate == 128)
        #expect(BuiltInTone.mp3.count == 64_783)
        #expect(BuiltInTone.mp3.prefix(4) == [0xFF, 0xFB, 0x90, 0x64])
    }

    // MARK: Proxy

    /// The default configuration with one value changed.
    func proxyConfiguration(_ change: (inout Proxy.Configuration) -> Void) -> Proxy.Configuration {
        var configuration = Proxy.Configuration()
        change(&configuration)
        return configuration
    }

    @Test func proxy_TakesTheDefaults() throws {
        try Proxy.Configuration().check()
        _ = try Proxy(url: url)
    }

    @Test(arguments: [0, -1, 1_048_577])
    func proxy_ThrowsForABadSegmentSize(segmentBytes: Int) {
        let configuration = proxyConfiguration { $0.segmentBytes = segmentBytes }
        #expect(throws: ConfigurationError.segmentBytes(segmentBytes, allowed: IcyLimits.metaintRange)) {
            try Proxy(url: url, configuration: configuration)
        }
    }

    @Test(arguments: [-1, 101, Int.max])
    func proxy_ThrowsForBadMaxRedirects(maxRedirects: Int) {
        let configuration = proxyConfiguration { $0.maxRedirects = maxRedirects }
        #expect(throws: ConfigurationError.maxRedirects(maxRedirects, allowed: Proxy.Configuration.redirectRange)) {
            try Proxy(url: url, configuration: configuration)
        }
    }

    @Test(arguments: [0, -1, 1_001, Int.max])
    func proxy_ThrowsForBadSilentSegments(silentSegments: Int) {
        let configuration = proxyConfiguration { $0.silentSegments = silentSegments }
        let allowed = Proxy.Configuration.silentSegmentRange
        #expect(throws: ConfigurationError.silentSegments(silentSegments, allowed: allowed)) {
            try Proxy(url: url, configuration: configuration)
        }
    }

    @Test(arguments: [Duration.zero, .milliseconds(-5), .seconds(3_601)])
    func proxy_ThrowsForABadConnectTimeout(timeout: Duration) {
        let configuration = proxyConfiguration { $0.connectTimeout = timeout }
        #expect(throws: ConfigurationError.connectTimeout(timeout, allowed: Proxy.Configuration.timeRange)) {
            try Proxy(url: url, configuration: configuration)
        }
    }

    @Test(arguments: [Duration.zero, .milliseconds(-250), .seconds(3_601)])
    func proxy_ThrowsForABadBackoff(backoff: Duration) {
        let configuration = proxyConfiguration { $0.backoff = backoff }
        #expect(throws: ConfigurationError.backoff(backoff, allowed: Proxy.Configuration.timeRange)) {
            try Proxy(url: url, configuration: configuration)
        }
    }

    @Test func proxy_ThrowsForALongestBackoffShorterThanTheFirst() {
        let configuration = proxyConfiguration {
            $0.backoff = .seconds(1)
            $0.maxBackoff = .milliseconds(500)
        }
        let allowed = Duration.seconds(1)...Proxy.Configuration.timeRange.upperBound
        #expect(throws: ConfigurationError.maxBackoff(.milliseconds(500), allowed: allowed)) {
            try Proxy(url: url, configuration: configuration)
        }
    }

    // MARK: Distributor

    @Test(arguments: [-1, 1_025, Int.min])
    func distributorConfiguration_ThrowsForABadBurst(burst: Int) {
        #expect(throws: ConfigurationError.burst(burst, allowed: Distributor.Configuration.burstRange)) {
            try Distributor.Configuration(burst: burst)
        }
    }

    @Test(arguments: [0, -1, 4_097, Int.max])
    func distributorConfiguration_ThrowsForABadRingSize(ringSize: Int) {
        #expect(throws: ConfigurationError.ringSize(ringSize, allowed: Distributor.Configuration.ringSizeRange)) {
            try Distributor.Configuration(burst: 0, ringSize: ringSize)
        }
    }

    @Test(arguments: [0, -2, 1_025])
    func distributorConfiguration_ThrowsForABadFanout(fanout: Int) {
        #expect(throws: ConfigurationError.fanout(fanout, allowed: Distributor.Configuration.fanoutRange)) {
            try Distributor.Configuration(burst: 4, fanout: fanout)
        }
    }

    @Test func distributorConfiguration_RaisesTheRingToTheBurst() throws {
        let configuration = try Distributor.Configuration(burst: 40, ringSize: 8)
        #expect(configuration.ringSize == 40)
    }

    @Test func distributor_BringsValuesSetOnThePropertiesWithinRange() {
        var configuration = Distributor.Configuration()
        configuration.burst = Int.min
        configuration.ringSize = Int.max
        configuration.fanout = -3
        let clamped = configuration.clamped
        #expect(clamped.burst == 0)
        #expect(clamped.ringSize == Distributor.Configuration.ringSizeRange.upperBound)
        #expect(clamped.fanout == 1)
        // And a distributor made with it does not trap (a ring of Int.max segments would).
        let distributor = Distributor(configuration: configuration)
        distributor.stop()
    }

    // MARK: The error in words

    @Test func error_SaysWhichValueAndWhatIsAllowed() {
        #expect(ConfigurationError.segmentBytes(0, allowed: 1...1_048_576).description
            == "segment size 0 bytes is outside 1...1048576")
        #expect(ConfigurationError.burst(-1, allowed: 0...1_024).description == "burst of -1 segments is outside 0...1024")
        #expect(ConfigurationError.mp3(.noFrames(byteCount: 3)).description == "no MPEG audio frames found in 3 bytes")
    }
}
