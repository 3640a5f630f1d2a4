// swift-tools-version:6.1

import PackageDescription

let package = Package(
    name: "casty",
    products: [
        .library(name: "Icy", targets: ["Icy"]),
        .library(name: "Casty", targets: ["Casty"]),
        // What Casty's public API names (an EventLoop, a SocketAddress, a StreamURL), for programs that build nodes.
        .library(name: "CastyNet", targets: ["CastyNet"]),
        .library(name: "CastyWire", targets: ["CastyWire"]),
        .executable(name: "casty-cli", targets: ["casty-cli"]),
        .executable(name: "casty-bench", targets: ["casty-bench"]),
    ],
    targets: [
        // The layers, bottom up; each may use only the ones below it, and the compiler checks that.
        // Layer 0: pure ICY parsing and encoding. No I/O, no Foundation.
        .target(name: "Icy"),
        // Layer 0: audio framing (MP3 frame headers, ADTS, a frame chain across reads). Pure.
        .target(name: "CastyAudio"),
        // Layer 1: the few Linux calls Glibc does not export (epoll, eventfd, accept4, SIOCOUTQ, malloc_trim).
        .target(name: "CCastySystem"),
        // Layer 2: the network: one epoll event loop (a SerialExecutor), connections, listeners, the log.
        .target(name: "CastyNet", dependencies: ["CCastySystem", "Icy"]),
        // Layer 3: the wire: a node on another machine, reached with ICY over HTTP.
        .target(name: "CastyWire", dependencies: ["Icy", "CastyNet"]),
        // Layer 4: the nodes (proxy, client, distributor, tree), the station and every port's front door.
        .target(
            name: "Casty", dependencies: ["Icy", "CastyAudio", "CastyNet", "CastyWire"],
            resources: [.embedInCode("Station/Resources/tone.mp3"), .embedInCode("FrontDoor/Resources/player.html")]),
        // The command line.
        .executableTarget(name: "casty-cli", dependencies: ["Casty", "CastyNet", "CastyWire", "Icy"]),
        // The floor of a fan-out, in plain C: what casty-bench fanout --floor compares Casty's CPU with.
        .target(name: "CCastyFloor"),
        // Release-mode benchmarks that print figures.
        .executableTarget(
            name: "casty-bench", dependencies: ["Casty", "CastyAudio", "CastyNet", "CastyWire", "Icy", "CCastySystem", "CCastyFloor"]),
        .testTarget(name: "IcyTests", dependencies: ["Icy"], exclude: ["Fixtures"]),
        .testTarget(name: "CastyTests", dependencies: ["Casty", "CastyAudio", "CastyNet", "CastyWire", "Icy", "CCastySystem"]),
    ]
)

for target in package.targets where target.type != .system && !target.name.hasPrefix("CCasty") {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}
