#![doc = include_str!("../README.md")]

mod archive;
mod dirsync;
mod index;
mod maintenance;
mod paths;
mod refname;
mod store;
mod unnamed;

pub use archive::OciArchive;
pub use maintenance::{GcOptions, GcReport, Problem};
pub use refname::check_ref_name;
pub use store::{LayoutOptions, OciLayout};
