// swift-tools-version:6.1

import PackageDescription

let package = Package(
    name: "casty",
    products: [
        .library(name: "Icy", targets: ["Icy"]),
        .library(name: "Casty", targets: ["Casty"]),
        .executable(name: "casty-cli", targets: ["casty-cli"]),
        .executable(name: "casty-bench", targets: ["casty-bench"]),
    ],
    targets: [
        // Layer 0: pure ICY parsing and encoding. No I/O, no Foundation.
        .target(name: "Icy"),
        // Layer 1: the few Linux calls Glibc does not export (epoll, eventfd, accept4, SIOCOUTQ).
        .target(name: "CCastySystem"),
        // Layers 2–4: Net, Wire and Nodes.
        .target(name: "Casty", dependencies: ["Icy", "CCastySystem"], resources: [.embedInCode("Station/Resources/tone.mp3")]),
        // The command line.
        .executableTarget(name: "casty-cli", dependencies: ["Casty", "Icy"]),
        // Release-mode benchmarks that print figures.
        .executableTarget(name: "casty-bench", dependencies: ["Casty", "Icy", "CCastySystem"]),
        .testTarget(name: "IcyTests", dependencies: ["Icy"], exclude: ["Fixtures"]),
        .testTarget(name: "CastyTests", dependencies: ["Casty", "Icy", "CCastySystem"]),
    ]
)

for target in package.targets where target.type != .system && target.name != "CCastySystem" {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}
