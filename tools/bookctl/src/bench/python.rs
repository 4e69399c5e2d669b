//! Which Python rows can run here: `python3`, and `gevent` for its rows.
//! Neither is required: without them those rows become a visible note.

use super::stamp::command_output;

#[derive(Debug, Clone, Default)]
pub struct Python {
    /// `Python 3.11.7`, or `None` if `python3` is not on the PATH.
    pub version: Option<String>,
    /// gevent's version, or `None` if it cannot be imported.
    pub gevent: Option<String>,
}

pub const NO_PYTHON: &str = "Python rows skipped: python3 not found.";
pub const NO_GEVENT: &str =
    "gevent rows skipped: gevent not installed (`pip install -r bench/python/requirements.txt`).";

impl Python {
    pub fn detect() -> Self {
        let version = command_output("python3", &["--version"]);
        let gevent = version.as_ref().and_then(|_| {
            command_output(
                "python3",
                &["-c", "import gevent; print(gevent.__version__)"],
            )
        });
        if version.is_none() {
            eprintln!("warning: {NO_PYTHON} Install Python 3 to measure the Python rows.");
        } else if gevent.is_none() {
            eprintln!("warning: {NO_GEVENT}");
        }
        Python { version, gevent }
    }

    /// The versions for a stamp: Python, and gevent if `with_gevent`.
    pub fn versions(&self, with_gevent: bool) -> Vec<String> {
        let mut versions: Vec<String> = self.version.iter().cloned().collect();
        if with_gevent && let Some(gevent) = &self.gevent {
            versions.push(format!("gevent {gevent}"));
        }
        versions
    }
}
