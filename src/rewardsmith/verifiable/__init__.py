"""Rule-based checkers: formats, QA matching, math answers."""
