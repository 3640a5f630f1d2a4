import Testing

/// The tests that run a script against real peers (ffmpeg, Icecast, chromium, network namespaces) start many
/// processes each. All started at once beside the unit tests, they starved one another — and the unit tests'
/// event loops — on a 2-core machine, and tests failed on timing alone. So they run in two lanes: the suites of
/// a lane one after the other, the two lanes side by side (each about six minutes), while the unit tests run
/// in parallel with both.
@Suite(.serialized)
enum ScriptLaneOne {}

/// The second lane of script tests (see ``ScriptLaneOne``).
@Suite(.serialized)
enum ScriptLaneTwo {}
