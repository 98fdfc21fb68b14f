#![doc = include_str!("../README.md")]

pub mod auth;
mod client;
mod config;
mod download;
mod errors;
mod http;
mod listing;
mod referrers;
mod registry_probe;
mod repository;
mod upload;

pub use client::Client;
pub use config::{ClientConfig, RetryPolicy, WarningHook};
pub use download::ParallelDownload;
pub use registry_probe::{Finding, ProbeReport, Support};
pub use repository::Repository;
