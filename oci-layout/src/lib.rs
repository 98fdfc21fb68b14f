#![doc = include_str!("../README.md")]

mod index;
mod maintenance;
mod refname;
mod store;

pub use maintenance::{GcOptions, GcReport, Problem};
pub use refname::check_ref_name;
pub use store::{LayoutOptions, OciLayout};
