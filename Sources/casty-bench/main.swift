print("casty-bench: under construction")
