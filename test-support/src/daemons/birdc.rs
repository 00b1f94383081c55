//! Parsers for `birdc` output (BIRD 2.0.12).
