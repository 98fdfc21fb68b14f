//! The grammar of `org.opencontainers.image.ref.name` values in an image layout.
//!
//! ```text
//! ref       ::= component ("/" component)*
//! component ::= alphanum (separator alphanum)*
//! alphanum  ::= [A-Za-z0-9]+
//! separator ::= [-._:@+] | "--"
//! ```

use oci_target::{Error, ErrorKind, Result};

/// Checks a layout reference name (a tag) against the image-spec grammar.
///
/// # Errors
///
/// [`ErrorKind::InvalidReference`] naming the value and the rule it breaks.
pub fn check_ref_name(name: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::new(
            ErrorKind::InvalidReference,
            format!(
                "invalid reference name {:?}: {why}",
                name.chars().take(200).collect::<String>()
            ),
        ))
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    for component in name.split('/') {
        let b = component.as_bytes();
        if b.is_empty() {
            return bad("it has an empty component");
        }
        if !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
            return bad("each component must start and end with a letter or digit");
        }
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_alphanumeric() {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && !b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let sep = &component[start..i];
            let one = sep.len() == 1 && "-._:@+".contains(sep);
            if !(one || sep == "--") {
                return bad("separators are one of - . _ : @ + or --");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        for ok in [
            "latest",
            "v1.2.3",
            "example.com/app:v1",
            "a--b",
            "A+b@c",
            "1",
        ] {
            check_ref_name(ok).unwrap();
        }
        for bad in [
            "", "/a", "a/", "a//b", "-a", "a-", "a..b", "a b", "a---b", "ä",
        ] {
            assert_eq!(
                check_ref_name(bad).unwrap_err().kind(),
                ErrorKind::InvalidReference,
                "{bad}"
            );
        }
    }
}
