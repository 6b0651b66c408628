def initials(full_name: str) -> str:
    """Initials of a name: first letter of each word, upper-cased, each followed by a dot."""


assert initials("ada lovelace") == "A.L."
assert initials("Grace Hopper") == "G.H."
assert initials("alan turing") == "A.T."
assert initials("Edsger Dijkstra") == "E.D."  # hidden
