// swift-tools-version:6.1

// The exercises: one library per chapter, and one test target of checks per chapter.
//
// Each chapter's library is `Given` (code handed to the student) plus one of two folders side by side:
// `Starter` (the holes the student fills in) or `Solution` (a reference answer). The environment variable CASTY_SOLUTIONS picks one of them for every
// chapter at once, so the SAME checks run against either:
//
//     swift test --filter Chapter01Checks                      # your work (the starters)
//     CASTY_SOLUTIONS=1 swift test --filter Chapter01Checks    # the reference solutions
//
// `check.sh` runs both, each in its own build directory, and proves that the checks pass against the
// solutions and fail against the untouched starters.

import PackageDescription

let solutions = ["1", "yes", "true"].contains(Context.environment["CASTY_SOLUTIONS"]?.lowercased() ?? "")
let variant = solutions ? "Solution" : "Starter"

/// `Icy`, the real parser and encoder, from the Casty package this folder lives in. A path dependency's
/// identity is its folder's name, whatever that folder is called on this machine — lowercased, without a `.git`
/// at its end (a clone made as `casty.git`), as SwiftPM names it.
let castyFolder = Context.packageDirectory.split(separator: "/").dropLast().last.map(String.init) ?? "casty"
let casty = castyFolder.lowercased().hasSuffix(".git") ? String(castyFolder.dropLast(4)) : castyFolder
let icy = Target.Dependency.product(name: "Icy", package: casty)
/// Casty's network layer (an event loop, connections that never block) and its stream URLs: what `my-relay`
/// puts under your cores so that a real player can listen to them.
let castyNet = Target.Dependency.product(name: "CastyNet", package: casty)
let castyWire = Target.Dependency.product(name: "CastyWire", package: casty)

/// The chapters in order: folder, library name, what the library needs, what its checks need besides it.
let chapters: [(folder: String, module: String, needs: [Target.Dependency], checksNeed: [Target.Dependency])] = [
    ("01-Encoding", "Encoding", [], [icy]),
    ("02-Parsing", "Parsing", [], []),
    ("03-ClientAndProxy", "Relay", ["Kit", icy], [icy]),
    ("04-Distributor", "FanOut", ["Kit"], []),
    ("05-Tree", "Tree", ["Kit"], []),
    ("06-Failure", "Recovery", ["Kit"], []),
    ("07-BeyondTrees", "Mesh", [], []),
    ("08-Station", "Station", [icy], [icy]),
]

var targets: [Target] = [
    // What every chapter from 3 on is given: the four messages, an in-memory network of actors, a clock.
    .target(name: "Kit", path: "Kit"),
]
for (index, chapter) in chapters.enumerated() {
    let number = index + 1 < 10 ? "0\(index + 1)" : "\(index + 1)"
    // `Given` is the same for both: code the chapter hands the student to read and use.
    targets.append(.target(
        name: chapter.module, dependencies: chapter.needs, path: "Chapters/\(chapter.folder)",
        exclude: ["README.md", "Checks", solutions ? "Starter" : "Solution"], sources: ["Given", variant]))
    targets.append(.testTarget(
        name: "Chapter\(number)Checks", dependencies: [.target(name: chapter.module)] + chapter.checksNeed,
        path: "Chapters/\(chapter.folder)/Checks"))
}
// Your chapter 3 cores (with --distributor your chapter 4 core, with --root/--branch your chapter 5 cores) on
// real sockets: `swift run my-relay http://station/ --port 8080`, then play it in VLC.
targets.append(.executableTarget(
    name: "my-relay", dependencies: ["Relay", "FanOut", "Tree", "Kit", icy, castyNet, castyWire], path: "MyRelay"))

let package = Package(
    name: "CastyExercises",
    products: chapters.map { .library(name: $0.module, targets: [$0.module]) }
        + [.executable(name: "my-relay", targets: ["my-relay"])],
    dependencies: [.package(path: "..")],
    targets: targets
)

for target in package.targets {
    target.swiftSettings = [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
    ]
    // my-relay says whose cores it runs: `#if CASTY_SOLUTIONS`, the reference solutions'.
    if solutions, target.name == "my-relay" { target.swiftSettings? += [.define("CASTY_SOLUTIONS")] }
}
