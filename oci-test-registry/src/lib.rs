//! Test support: real registries on loopback.
