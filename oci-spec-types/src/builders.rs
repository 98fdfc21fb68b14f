//! The builder setters the document types share, written once.

/// Implements, for a type with the named fields, the setters `with_artifact_type`,
/// `with_subject` and `with_annotation`.
macro_rules! setters {
    (@artifact_type) => {
        /// Sets `artifactType`.
        pub fn with_artifact_type(mut self, artifact_type: $crate::MediaType) -> Self {
            self.artifact_type = Some(artifact_type);
            self
        }
    };
    (@subject) => {
        /// Sets `subject`.
        pub fn with_subject(mut self, subject: $crate::Descriptor) -> Self {
            self.subject = Some(subject);
            self
        }
    };
    (@annotation) => {
        /// Adds one annotation.
        pub fn with_annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
            self.annotations
                .get_or_insert_with(std::collections::BTreeMap::new)
                .insert(key.into(), value.into());
            self
        }
    };
    ($ty:ty: $($what:ident),+) => {
        impl $ty {
            $($crate::builders::setters!(@$what);)+
        }
    };
}

pub(crate) use setters;
