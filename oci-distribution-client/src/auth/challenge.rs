//! `WWW-Authenticate` challenges (RFC 7235), as registries send them.
//!
//! Hand-written rather than a general HTTP-auth crate: registries use two schemes, and the parser
//! must refuse malformed input with a clear error instead of guessing.

use std::collections::BTreeMap;

/// The scheme a registry asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// HTTP Basic.
    Basic {
        /// The realm, if given.
        realm: Option<String>,
    },
    /// Bearer tokens from a token server.
    Bearer {
        /// The token server's URL.
        realm: String,
        /// The service name to ask for.
        service: Option<String>,
        /// The scope the registry wants, if it says.
        scope: Option<String>,
        /// `insufficient_scope` and friends.
        error: Option<String>,
    },
}

/// Parses the first challenge of a `WWW-Authenticate` header value.
///
/// # Errors
///
/// A message saying what is malformed: an unknown scheme, a Bearer challenge without a realm,
/// unbalanced quotes.
pub fn parse(header: &str) -> Result<Challenge, String> {
    let header = header.trim();
    let (scheme, rest) = match header.find(char::is_whitespace) {
        Some(i) => (&header[..i], &header[i..]),
        None => (header, ""),
    };
    let params = parse_params(rest)?;
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Ok(Challenge::Basic {
            realm: params.get("realm").cloned(),
        }),
        "bearer" => {
            let realm = params
                .get("realm")
                .filter(|r| !r.is_empty())
                .cloned()
                .ok_or("a Bearer challenge without a realm")?;
            Ok(Challenge::Bearer {
                realm,
                service: params.get("service").cloned(),
                scope: params.get("scope").cloned(),
                error: params.get("error").cloned(),
            })
        }
        "" => Err("an empty challenge".into()),
        other => Err(format!(
            "an unsupported authentication scheme {:?}",
            other.chars().take(40).collect::<String>()
        )),
    }
}

fn parse_params(s: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.trim().chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(format!("parameter {key:?} has no value"));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(format!(
                    "parameter {key:?} has an unterminated quoted value"
                ));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        if key.is_empty() {
            return Err("a parameter without a name".into());
        }
        out.insert(key.to_ascii_lowercase(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_with_everything() {
        let c = parse(r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push",error="insufficient_scope""#).unwrap();
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:a/b:pull,push".into()),
                error: Some("insufficient_scope".into()),
            }
        );
    }

    #[test]
    fn basic_and_case_and_spacing() {
        assert_eq!(
            parse(r#"basic realm="Registry Realm""#).unwrap(),
            Challenge::Basic {
                realm: Some("Registry Realm".into())
            }
        );
        assert!(matches!(
            parse(r#"BEARER  realm = "x" , service=y"#).unwrap(),
            Challenge::Bearer { realm, service: Some(s), .. } if realm == "x" && s == "y"
        ));
    }

    #[test]
    fn malformed_is_refused() {
        for bad in [
            "",
            "Bearer",
            "Bearer service=\"x\"",
            "Bearer realm=\"unterminated",
            "Bearer realm",
            "Negotiate abc",
            "Bearer =x",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
