print("casty-cli: under construction")
