//! Functions and sinks of the caller's, as option types hold them.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A function (or other trait object) of the caller's, kept in an options struct: cheap to
/// clone, and shown in `Debug` output by its kind only, never by what it captured.
///
/// ```
/// use oci_target::Hook;
/// let double: Hook<dyn Fn(u32) -> u32 + Send + Sync> = Hook::new(std::sync::Arc::new(|n| n * 2));
/// assert_eq!(double(21), 42);
/// assert_eq!(format!("{double:?}"), "Hook(..)");
/// ```
pub struct Hook<F: ?Sized>(Arc<F>);

impl<F: ?Sized> Hook<F> {
    /// Wraps a shared function.
    pub fn new(function: Arc<F>) -> Self {
        Hook(function)
    }
}

impl<F: ?Sized> Clone for Hook<F> {
    fn clone(&self) -> Self {
        Hook(Arc::clone(&self.0))
    }
}

impl<F: ?Sized> Deref for Hook<F> {
    type Target = F;
    fn deref(&self) -> &F {
        &self.0
    }
}

impl<F: ?Sized> fmt::Debug for Hook<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hook(..)")
    }
}
