// casty-cli: run a Casty relay from the command line. `casty-cli --help` lists the commands.

import Casty
import Glibc

let commands = [
    CommandEntry(ProxyCommand.self), CommandEntry(StationCommand.self), CommandEntry(DummyCommand.self),
    CommandEntry(DemoCommand.self), CommandEntry(RootCommand.self), CommandEntry(BranchCommand.self),
    CommandEntry(TreeCommand.self), CommandEntry(ServerCommand.self),
]

let words = Array(CommandLine.arguments.dropFirst())
guard let name = words.first, !["--help", "-h", "help"].contains(name) else {
    // `casty-cli help proxy`: that command's help, as `casty-cli proxy --help` prints it.
    if words.count == 2, let command = commands.first(where: { $0.name == words[1] }) {
        await command.main(["--help"])  // prints the help and exits
    }
    if words.count >= 2 {
        fail("unknown command '\(words[1])'. Commands: \(commands.map(\.name).joined(separator: ", ")); see casty-cli --help", code: 1)
    }
    // Asked for, the overview is the output; given no command at all, it is the error's explanation.
    guard words.isEmpty else {
        print(overview(commands))
        exit(0)
    }
    fail("give a command", code: 1, then: overview(commands))
}
if name == "--version" || name == "version" {
    print("casty-cli \(castyVersion)")
    exit(0)
}
guard let command = commands.first(where: { $0.name == name }) else {
    fail("unknown command '\(name)'. Commands: \(commands.map(\.name).joined(separator: ", ")); see casty-cli --help", code: 1)
}
await command.main(Array(words.dropFirst()))
