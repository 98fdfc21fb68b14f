#![doc = include_str!("../README.md")]

mod index;
mod refname;
mod store;

pub use refname::check_ref_name;
pub use store::{LayoutOptions, OciLayout};
