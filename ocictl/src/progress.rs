//! Progress output: bars on a terminal, one line per event elsewhere, nothing for JSON output.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use crate::text::err;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use oci_spec_types::{Descriptor, annotations};
use oci_target::progress::{ProgressEvent, ProgressSink, SharedProgress};

/// What the transfer is, for the words on each line.
#[derive(Clone, Copy)]
pub(crate) enum Verb {
    Upload,
    Download,
    Copy,
}

impl Verb {
    fn doing(self) -> &'static str {
        match self {
            Verb::Upload => "Uploading",
            Verb::Download => "Downloading",
            Verb::Copy => "Copying",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Verb::Upload => "Uploaded",
            Verb::Download => "Downloaded",
            Verb::Copy => "Copied",
        }
    }
}

/// A short name for a node: its title, else its media type's name, with a short digest.
pub(crate) fn label(desc: &Descriptor) -> String {
    let short = &desc.digest.encoded()[..12.min(desc.digest.encoded().len())];
    let name = desc
        .annotation(annotations::TITLE)
        .map(str::to_owned)
        .or_else(|| desc.media_type.human_name().map(str::to_owned))
        .unwrap_or_else(|| desc.media_type.as_str().to_owned());
    format!("{short} {}", crate::text::escape(&name))
}

/// Human-readable size.
pub(crate) fn size(bytes: u64) -> String {
    indicatif::HumanBytes(bytes).to_string()
}

struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    verb: Verb,
}

impl Bars {
    fn bar(&self, desc: &Descriptor) -> ProgressBar {
        let mut bars = self.bars.lock().expect("not poisoned");
        bars.entry(desc.digest.to_string())
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new(desc.size));
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix:.bold} {msg:40!} [{bar:25}] {bytes}/{total_bytes} {bytes_per_sec}",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                );
                bar.set_prefix(self.verb.doing());
                bar.set_message(label(desc));
                bar
            })
            .clone()
    }
}

impl ProgressSink for Bars {
    fn event(&self, event: &ProgressEvent<'_>) {
        match event {
            ProgressEvent::Started { desc } => {
                self.bar(desc);
            }
            ProgressEvent::Bytes { desc, transferred } => self.bar(desc).set_position(*transferred),
            ProgressEvent::Done { desc } => {
                let bar = self.bar(desc);
                bar.set_prefix(format!("✓ {}", self.verb.done()));
                bar.finish();
            }
            ProgressEvent::Skipped { desc } => {
                let bar = self.bar(desc);
                bar.set_prefix("✓ Exists");
                bar.finish();
            }
            ProgressEvent::Mounted { desc, .. } => {
                let bar = self.bar(desc);
                bar.set_prefix("✓ Mounted");
                bar.finish();
            }
            ProgressEvent::Failed { desc, .. } => {
                let bar = self.bar(desc);
                bar.set_prefix("✗ Failed");
                bar.abandon();
            }
            _ => {}
        }
    }
}

struct Lines {
    verb: Verb,
}

impl ProgressSink for Lines {
    fn event(&self, event: &ProgressEvent<'_>) {
        let line = match event {
            ProgressEvent::Started { desc } => {
                format!(
                    "{} {} ({})",
                    self.verb.doing(),
                    label(desc),
                    size(desc.size)
                )
            }
            ProgressEvent::Done { desc } => format!("{} {}", self.verb.done(), label(desc)),
            ProgressEvent::Skipped { desc } => format!("Exists {}", label(desc)),
            ProgressEvent::Mounted { desc, from } => format!("Mounted {} from {from}", label(desc)),
            ProgressEvent::Failed { desc, error } => format!("Failed {}: {error}", label(desc)),
            _ => return,
        };
        err!("{line}");
    }
}

/// The progress sink for a command: bars when stderr is a terminal, lines when not, none when
/// output is JSON or progress is turned off.
pub(crate) fn sink(verb: Verb, quiet: bool) -> Option<SharedProgress> {
    if quiet {
        return None;
    }
    if std::io::stderr().is_terminal() {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        Some(Arc::new(Bars {
            multi,
            bars: Mutex::new(HashMap::new()),
            verb,
        }))
    } else {
        Some(Arc::new(Lines { verb }))
    }
}
