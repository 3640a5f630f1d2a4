/// The release `casty-cli --version` prints, so a bug report or a fleet's inventory can say which Casty runs.
let castyVersion = "0.9.0"
